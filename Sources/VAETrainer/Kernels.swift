// The trainer's kernels. Every buffer holds one image per lane (SIMD16), so a multiply-add of
// the model is one vector FMA with a broadcast weight, and the loops below are register-tiled so
// that each loaded vector feeds several FMAs. Weights use PyTorch's layouts.
//
// The ref* functions here are the definition of every kernel's result, for Float and Double.
// Float runs their C translations in Sources/TrainerKernels instead, compiled for AVX-512, AVX2 or
// the baseline and picked at run time: Swift can only target one CPU per module, and built for
// the x86-64 baseline it turns each SIMD16<Float>.addingProduct into sixteen fmaf calls. The C
// kernels compute the same bits (TrainerTests/KernelLevelTests holds every level equal to ref*).
// Double, used only by the gradient probes, runs ref* itself.

import Checkpoint
import TrainerKernels

public typealias VPtr<S: TrainScalar> = UnsafeMutablePointer<SIMD16<S>>
public typealias CVPtr<S: TrainScalar> = UnsafePointer<SIMD16<S>>

@inline(__always) func floats<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}
@inline(__always) func floats<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

// The `S.self == Float.self` tests fold away when the callers are specialised.

@inline(__always)
func gemvLanes<S: TrainScalar>(_ w: UnsafePointer<S>, rows: Int, cols: Int, _ x: CVPtr<S>, _ out: VPtr<S>) {
    if S.self == Float.self { vae_tk_gemv_lanes_fast(floats(w), rows, cols, floats(x), floats(out)) }
    else { refGemvLanes(w, rows: rows, cols: cols, x, out) }
}

@inline(__always)
func gemvTLanes<S: TrainScalar>(_ w: UnsafePointer<S>, rows: Int, cols: Int, _ dy: CVPtr<S>, _ dx: VPtr<S>) {
    if S.self == Float.self { vae_tk_gemvt_lanes_fast(floats(w), rows, cols, floats(dy), floats(dx)) }
    else { refGemvTLanes(w, rows: rows, cols: cols, dy, dx) }
}

@inline(__always)
func outerAccumulate<S: TrainScalar>(_ dy: CVPtr<S>, dyStride: Int, _ x: CVPtr<S>, xStride: Int, steps: Int,
                                     rows: Int, cols: Int, _ gw: UnsafeMutablePointer<S>) {
    if S.self == Float.self {
        vae_tk_outer_accumulate_fast(floats(dy), dyStride, floats(x), xStride, steps, rows, cols, floats(gw))
    } else {
        refOuterAccumulate(dy, dyStride: dyStride, x, xStride: xStride, steps: steps, rows: rows, cols: cols, gw)
    }
}

@inline(__always)
func deconvForward<S: TrainScalar>(input: CVPtr<S>, inC: Int, side: Int, w: UnsafePointer<S>, b: UnsafePointer<S>,
                                   outC: Int, k: Int, output: VPtr<S>) {
    if S.self == Float.self {
        vae_tk_deconv_forward_fast(floats(input), inC, side, floats(w), floats(b), outC, k, floats(output))
    } else {
        refDeconvForward(input: input, inC: inC, side: side, w: w, b: b, outC: outC, k: k, output: output)
    }
}

@inline(__always)
func deconvBackwardInput<S: TrainScalar>(dOut: CVPtr<S>, outC: Int, side: Int, w: UnsafePointer<S>, inC: Int, k: Int,
                                         dIn: VPtr<S>) {
    if S.self == Float.self {
        vae_tk_deconv_backward_input_fast(floats(dOut), outC, side, floats(w), inC, k, floats(dIn))
    } else {
        refDeconvBackwardInput(dOut: dOut, outC: outC, side: side, w: w, inC: inC, k: k, dIn: dIn)
    }
}

@inline(__always)
func deconvBackwardWeights<S: TrainScalar>(input: CVPtr<S>, inC: Int, side: Int, dOut: CVPtr<S>, outC: Int, k: Int,
                                           gw: UnsafeMutablePointer<S>, gb: UnsafeMutablePointer<S>) {
    if S.self == Float.self {
        vae_tk_deconv_backward_weights_fast(floats(input), inC, side, floats(dOut), outC, k, floats(gw), floats(gb))
    } else {
        refDeconvBackwardWeights(input: input, inC: inC, side: side, dOut: dOut, outC: outC, k: k, gw: gw, gb: gb)
    }
}

/// gemvLanes for n right-hand sides: out_t[r] += sum_k w[r, k] * x_t[k] for t in 0..<n, with
/// x_t = x + t*xStride and out_t = out + t*outStride (the LSTM's input projection for all steps).
@inline(__always)
func gemvLanesMulti<S: TrainScalar>(_ w: UnsafePointer<S>, rows: Int, cols: Int, _ x: CVPtr<S>, xStride: Int,
                                    _ out: VPtr<S>, outStride: Int, n: Int) {
    if S.self == Float.self {
        vae_tk_gemv_lanes_multi(floats(w), rows, cols, floats(x), xStride, floats(out), outStride, n)
    } else {
        refGemvLanesMulti(w, rows: rows, cols: cols, x, xStride: xStride, out, outStride: outStride, n: n)
    }
}

func refGemvLanesMulti<S: TrainScalar>(_ w: UnsafePointer<S>, rows: Int, cols: Int, _ x: CVPtr<S>, xStride: Int,
                                       _ out: VPtr<S>, outStride: Int, n: Int) {
    for t in 0..<n { refGemvLanes(w, rows: rows, cols: cols, x + t * xStride, out + t * outStride) }
}

/// A decoder layer's activation, in place (sigmoid: sigmoidLanes).
@inline(__always)
func activationForward<S: TrainScalar>(_ o: VPtr<S>, _ n: Int, _ act: ModelConfig.Activation, slope: Float) {
    if S.self == Float.self {
        switch act {
        case .relu: vae_tk_activation_forward(floats(o), n, 1, slope)
        case .leakyReLU: vae_tk_activation_forward(floats(o), n, 2, slope)
        case .sigmoid: vae_tk_sigmoid_lanes(floats(o), n)
        case .none: break
        }
    } else { refActivationForward(o, n, act, slope: slope) }
}

func refActivationForward<S: TrainScalar>(_ o: VPtr<S>, _ n: Int, _ act: ModelConfig.Activation, slope: Float) {
    switch act {
    case .none: break
    case .relu: for p in 0..<n { o[p] = o[p].replacing(with: 0, where: o[p] .< 0) }
    case .leakyReLU:
        let s = S(slope)
        for p in 0..<n { o[p] = o[p].replacing(with: o[p] * s, where: o[p] .< 0) }
    case .sigmoid: refSigmoidLanes(o, n)
    }
}

/// d (the gradient w.r.t. an activation's output a) made the gradient w.r.t. its input.
@inline(__always)
func activationBackward<S: TrainScalar>(_ d: VPtr<S>, _ a: CVPtr<S>, _ n: Int, _ act: ModelConfig.Activation, slope: Float) {
    if S.self == Float.self {
        switch act {
        case .relu: vae_tk_activation_backward(floats(d), floats(a), n, 1, slope)
        case .leakyReLU: vae_tk_activation_backward(floats(d), floats(a), n, 2, slope)
        case .sigmoid: vae_tk_activation_backward(floats(d), floats(a), n, 3, slope)
        case .none: break
        }
    } else { refActivationBackward(d, a, n, act, slope: slope) }
}

func refActivationBackward<S: TrainScalar>(_ d: VPtr<S>, _ a: CVPtr<S>, _ n: Int, _ act: ModelConfig.Activation, slope: Float) {
    switch act {
    case .none: break
    case .relu: for q in 0..<n { d[q] = d[q].replacing(with: 0, where: a[q] .<= 0) }
    case .leakyReLU:
        let s = S(slope)
        for q in 0..<n { d[q] = d[q].replacing(with: d[q] * s, where: a[q] .<= 0) }
    case .sigmoid: for q in 0..<n { d[q] = d[q] * a[q] * (1 - a[q]) }
    }
}

/// BCE summed over n pixels per lane, each log clamped at -100 as PyTorch does.
@inline(__always)
func bceForward<S: TrainScalar>(_ out: CVPtr<S>, _ x: CVPtr<S>, _ n: Int) -> SIMD16<S> {
    if S.self == Float.self {
        var r = SIMD16<S>()
        withUnsafeMutablePointer(to: &r) { vae_tk_bce_forward(floats(out), floats(x), n, floats($0)) }
        return r
    }
    return refBCEForward(out, x, n)
}

func refBCEForward<S: TrainScalar>(_ out: CVPtr<S>, _ x: CVPtr<S>, _ n: Int) -> SIMD16<S> {
    var rec = SIMD16<S>()
    let floor = SIMD16<S>(repeating: -100)
    for p in 0..<n {
        let pr = out[p], tg = x[p]
        let lpr = S.vlog(pr), l1pr = S.vlog(1 - pr)
        let lp = lpr.replacing(with: floor, where: lpr .< floor)
        let l1p = l1pr.replacing(with: floor, where: l1pr .< floor)
        rec -= tg * lp + (1 - tg) * l1p
    }
    return rec
}

/// Sigmoid + BCE, as PyTorch chains them: dL/dp = (p - x) / max(p(1-p), 1e-12), times p(1-p).
@inline(__always)
func bceBackward<S: TrainScalar>(_ out: CVPtr<S>, _ x: CVPtr<S>, mask: SIMD16<S>, _ n: Int, _ d: VPtr<S>) {
    if S.self == Float.self {
        var m = mask
        withUnsafePointer(to: &m) { vae_tk_bce_backward(floats(out), floats(x), floats($0), n, floats(d)) }
    } else { refBCEBackward(out, x, mask: mask, n, d) }
}

func refBCEBackward<S: TrainScalar>(_ out: CVPtr<S>, _ x: CVPtr<S>, mask: SIMD16<S>, _ n: Int, _ d: VPtr<S>) {
    let tiny = SIMD16<S>(repeating: S(1e-12))
    for p in 0..<n {
        let pr = out[p]
        let s = pr * (1 - pr)
        d[p] = (pr - x[p]) / s.replacing(with: tiny, where: s .< tiny) * s * mask
    }
}

/// One step of backpropagation through time: the gates' pre-activation gradients into d
/// ([i f g o] x H) from dh and dc, and dc carried to the previous step.
@inline(__always)
func lstmCellBackward<S: TrainScalar>(_ g: CVPtr<S>, _ cp: CVPtr<S>, _ tct: CVPtr<S>, _ dh: CVPtr<S>, _ dc: VPtr<S>,
                                      _ d: VPtr<S>, H: Int) {
    if S.self == Float.self {
        vae_tk_lstm_cell_backward(floats(g), floats(cp), floats(tct), floats(dh), floats(dc), floats(d), H)
    } else { refLSTMCellBackward(g, cp, tct, dh, dc, d, H: H) }
}

func refLSTMCellBackward<S: TrainScalar>(_ g: CVPtr<S>, _ cp: CVPtr<S>, _ tct: CVPtr<S>, _ dh: CVPtr<S>, _ dc: VPtr<S>,
                                         _ d: VPtr<S>, H: Int) {
    for j in 0..<H {
        let ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j]
        let tcv = tct[j]
        let dhj = dh[j]
        let dcj = dc[j] + dhj * og * (1 - tcv * tcv)
        d[j] = dcj * gg * ig * (1 - ig)
        d[H + j] = dcj * cp[j] * fg * (1 - fg)
        d[2 * H + j] = dcj * ig * (1 - gg * gg)
        d[3 * H + j] = dhj * tcv * og * (1 - og)
        dc[j] = dcj * fg
    }
}

/// One LSTM step after the gate pre-activations are in g ([i f g o] x H): the gates'
/// nonlinearities in place, then c_t, tanh(c_t) and h_t.
@inline(__always)
func lstmCellForward<S: TrainScalar>(_ g: VPtr<S>, _ cp: CVPtr<S>, _ cn: VPtr<S>, _ tct: VPtr<S>, _ hn: VPtr<S>, H: Int) {
    if S.self == Float.self { vae_tk_lstm_cell_forward(floats(g), floats(cp), floats(cn), floats(tct), floats(hn), H) }
    else { refLSTMCellForward(g, cp, cn, tct, hn, H: H) }
}

func refLSTMCellForward<S: TrainScalar>(_ g: VPtr<S>, _ cp: CVPtr<S>, _ cn: VPtr<S>, _ tct: VPtr<S>, _ hn: VPtr<S>, H: Int) {
    for j in 0..<H {
        let ig = vsigmoid(g[j]), fg = vsigmoid(g[H + j]), gg = vtanh(g[2 * H + j]), og = vsigmoid(g[3 * H + j])
        g[j] = ig; g[H + j] = fg; g[2 * H + j] = gg; g[3 * H + j] = og
        let cv = fg * cp[j] + ig * gg
        cn[j] = cv
        let tcv = vtanh(cv)
        tct[j] = tcv
        hn[j] = og * tcv
    }
}

/// v[p] = sigmoid(v[p]) for p in 0..<n.
@inline(__always)
func sigmoidLanes<S: TrainScalar>(_ v: VPtr<S>, _ n: Int) {
    if S.self == Float.self { vae_tk_sigmoid_lanes(floats(v), n) }
    else { refSigmoidLanes(v, n) }
}

func refSigmoidLanes<S: TrainScalar>(_ v: VPtr<S>, _ n: Int) {
    for p in 0..<n { v[p] = vsigmoid(v[p]) }
}


/// out[r] += sum_k w[r, k] * x[k]   (w row-major rows x cols)
@inline(__always)
func refGemvLanes<S: TrainScalar>(_ w: UnsafePointer<S>, rows: Int, cols: Int, _ x: CVPtr<S>, _ out: VPtr<S>) {
    var r = 0
    while r + 4 <= rows {
        var a0 = out[r], a1 = out[r + 1], a2 = out[r + 2], a3 = out[r + 3]
        let w0 = w + r * cols, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols
        for k in 0..<cols {
            let xv = x[k]
            a0 = a0.addingProduct(xv, w0[k]); a1 = a1.addingProduct(xv, w1[k])
            a2 = a2.addingProduct(xv, w2[k]); a3 = a3.addingProduct(xv, w3[k])
        }
        out[r] = a0; out[r + 1] = a1; out[r + 2] = a2; out[r + 3] = a3
        r += 4
    }
    while r < rows {
        var a = out[r]
        let wr = w + r * cols
        for k in 0..<cols { a = a.addingProduct(x[k], wr[k]) }
        out[r] = a
        r += 1
    }
}

/// dx[k] += sum_r w[r, k] * dy[r]
@inline(__always)
func refGemvTLanes<S: TrainScalar>(_ w: UnsafePointer<S>, rows: Int, cols: Int, _ dy: CVPtr<S>, _ dx: VPtr<S>) {
    var k = 0
    while k + 4 <= cols {
        var a0 = dx[k], a1 = dx[k + 1], a2 = dx[k + 2], a3 = dx[k + 3]
        var wr = w + k
        for r in 0..<rows {
            let d = dy[r]
            a0 = a0.addingProduct(d, wr[0]); a1 = a1.addingProduct(d, wr[1])
            a2 = a2.addingProduct(d, wr[2]); a3 = a3.addingProduct(d, wr[3])
            wr += cols
        }
        dx[k] = a0; dx[k + 1] = a1; dx[k + 2] = a2; dx[k + 3] = a3
        k += 4
    }
    while k < cols {
        var a = dx[k]
        for r in 0..<rows { a = a.addingProduct(dy[r], w[r * cols + k]) }
        dx[k] = a
        k += 1
    }
}

/// gw[r, k] += sum_t sum_lanes dy_t[r] * x_t[k], for t in 0..<steps; dy_t = dy + t*dyStride.
@inline(__always)
func refOuterAccumulate<S: TrainScalar>(_ dy: CVPtr<S>, dyStride: Int, _ x: CVPtr<S>, xStride: Int, steps: Int,
                                     rows: Int, cols: Int, _ gw: UnsafeMutablePointer<S>) {
    var r = 0
    while r < rows {
        let nr = min(2, rows - r)
        var k = 0
        while k < cols {
            let nk = min(4, cols - k)
            if nr == 2 && nk == 4 {
                var a00 = SIMD16<S>(), a01 = SIMD16<S>(), a02 = SIMD16<S>(), a03 = SIMD16<S>()
                var a10 = SIMD16<S>(), a11 = SIMD16<S>(), a12 = SIMD16<S>(), a13 = SIMD16<S>()
                for t in 0..<steps {
                    let d = dy + t * dyStride + r, xv = x + t * xStride + k
                    let d0 = d[0], d1 = d[1], x0 = xv[0], x1 = xv[1], x2 = xv[2], x3 = xv[3]
                    a00 = a00.addingProduct(d0, x0); a01 = a01.addingProduct(d0, x1)
                    a02 = a02.addingProduct(d0, x2); a03 = a03.addingProduct(d0, x3)
                    a10 = a10.addingProduct(d1, x0); a11 = a11.addingProduct(d1, x1)
                    a12 = a12.addingProduct(d1, x2); a13 = a13.addingProduct(d1, x3)
                }
                let g0 = gw + r * cols + k, g1 = g0 + cols
                g0[0] += hsum(a00); g0[1] += hsum(a01); g0[2] += hsum(a02); g0[3] += hsum(a03)
                g1[0] += hsum(a10); g1[1] += hsum(a11); g1[2] += hsum(a12); g1[3] += hsum(a13)
            } else {
                for rr in r..<(r + nr) {
                    for kk in k..<(k + nk) {
                        var a = SIMD16<S>()
                        for t in 0..<steps { a = a.addingProduct(dy[t * dyStride + rr], x[t * xStride + kk]) }
                        gw[rr * cols + kk] += hsum(a)
                    }
                }
            }
            k += nk
        }
        r += nr
    }
}

/// Transposed convolution, stride 1, no padding: out[oc][oy][ox] = bias[oc] +
/// sum over ic, ky, kx of in[ic][oy-ky][ox-kx] * w[ic][oc][ky][kx]. Gather form: each output
/// vector is accumulated in a register over every tap that reaches it.
func refDeconvForward<S: TrainScalar>(input: CVPtr<S>, inC: Int, side: Int, w: UnsafePointer<S>, b: UnsafePointer<S>,
                                   outC: Int, k: Int, output: VPtr<S>) {
    let os = side + k - 1
    let kk = k * k
    let inPlane = side * side, outPlane = os * os
    var oc = 0
    while oc < outC {
        let n = min(4, outC - oc)
        for oy in 0..<os {
            let kyLo = max(0, oy - side + 1), kyHi = min(k - 1, oy)
            for ox in 0..<os {
                let kxLo = max(0, ox - side + 1), kxHi = min(k - 1, ox)
                var a0 = SIMD16<S>(repeating: b[oc])
                var a1 = n > 1 ? SIMD16<S>(repeating: b[oc + 1]) : SIMD16<S>()
                var a2 = n > 2 ? SIMD16<S>(repeating: b[oc + 2]) : SIMD16<S>()
                var a3 = n > 3 ? SIMD16<S>(repeating: b[oc + 3]) : SIMD16<S>()
                for ic in 0..<inC {
                    let wb = w + (ic * outC + oc) * kk
                    let ib = input + ic * inPlane
                    if kyLo > kyHi || kxLo > kxHi { continue }
                    for ky in kyLo...kyHi {
                        let irow = ib + (oy - ky) * side + ox
                        let wr = wb + ky * k
                        if n == 4 {
                            for kx in kxLo...kxHi {
                                let v = irow[-kx]
                                a0 = a0.addingProduct(v, wr[kx]); a1 = a1.addingProduct(v, wr[kk + kx])
                                a2 = a2.addingProduct(v, wr[2 * kk + kx]); a3 = a3.addingProduct(v, wr[3 * kk + kx])
                            }
                        } else {
                            for kx in kxLo...kxHi {
                                let v = irow[-kx]
                                a0 = a0.addingProduct(v, wr[kx])
                                if n > 1 { a1 = a1.addingProduct(v, wr[kk + kx]) }
                                if n > 2 { a2 = a2.addingProduct(v, wr[2 * kk + kx]) }
                            }
                        }
                    }
                }
                let o = output + oc * outPlane + oy * os + ox
                o[0] = a0
                if n > 1 { o[outPlane] = a1 }
                if n > 2 { o[2 * outPlane] = a2 }
                if n > 3 { o[3 * outPlane] = a3 }
            }
        }
        oc += n
    }
}

/// dIn[ic][iy][ix] = sum over oc, ky, kx of w[ic][oc][ky][kx] * dOut[oc][iy+ky][ix+kx]
/// (every tap is inside the larger output, so there are no bounds to test).
func refDeconvBackwardInput<S: TrainScalar>(dOut: CVPtr<S>, outC: Int, side: Int, w: UnsafePointer<S>, inC: Int, k: Int,
                                         dIn: VPtr<S>) {
    let os = side + k - 1
    let kk = k * k
    let inPlane = side * side, outPlane = os * os
    let icStride = outC * kk
    var ic = 0
    while ic < inC {
        let n = min(4, inC - ic)
        for iy in 0..<side {
            for ix in 0..<side {
                var a0 = SIMD16<S>(), a1 = SIMD16<S>(), a2 = SIMD16<S>(), a3 = SIMD16<S>()
                for oc in 0..<outC {
                    let wb = w + (ic * outC + oc) * kk
                    let db = dOut + oc * outPlane + iy * os + ix
                    for ky in 0..<k {
                        let drow = db + ky * os
                        let wr = wb + ky * k
                        if n == 4 {
                            for kx in 0..<k {
                                let d = drow[kx]
                                a0 = a0.addingProduct(d, wr[kx]); a1 = a1.addingProduct(d, wr[icStride + kx])
                                a2 = a2.addingProduct(d, wr[2 * icStride + kx]); a3 = a3.addingProduct(d, wr[3 * icStride + kx])
                            }
                        } else {
                            for kx in 0..<k {
                                let d = drow[kx]
                                a0 = a0.addingProduct(d, wr[kx])
                                if n > 1 { a1 = a1.addingProduct(d, wr[icStride + kx]) }
                                if n > 2 { a2 = a2.addingProduct(d, wr[2 * icStride + kx]) }
                            }
                        }
                    }
                }
                let o = dIn + ic * inPlane + iy * side + ix
                o[0] = a0
                if n > 1 { o[inPlane] = a1 }
                if n > 2 { o[2 * inPlane] = a2 }
                if n > 3 { o[3 * inPlane] = a3 }
            }
        }
        ic += n
    }
}

/// gw[ic][oc][ky][kx] += sum over iy, ix, lanes of in[ic][iy][ix] * dOut[oc][iy+ky][ix+kx];
/// gb[oc] += sum of dOut[oc].
func refDeconvBackwardWeights<S: TrainScalar>(input: CVPtr<S>, inC: Int, side: Int, dOut: CVPtr<S>, outC: Int, k: Int,
                                           gw: UnsafeMutablePointer<S>, gb: UnsafeMutablePointer<S>) {
    let os = side + k - 1
    let kk = k * k
    let inPlane = side * side, outPlane = os * os
    for oc in 0..<outC {
        var a = SIMD16<S>()
        let db = dOut + oc * outPlane
        for p in 0..<outPlane { a += db[p] }
        gb[oc] += hsum(a)
    }
    for ic in 0..<inC {
        let ib = input + ic * inPlane
        for oc in 0..<outC {
            let db = dOut + oc * outPlane
            let g = gw + (ic * outC + oc) * kk
            for ky in 0..<k {
                var kx = 0
                while kx < k {
                    if kx + 4 <= k {
                        var a0 = SIMD16<S>(), a1 = SIMD16<S>(), a2 = SIMD16<S>(), a3 = SIMD16<S>()
                        for iy in 0..<side {
                            let irow = ib + iy * side
                            let drow = db + (iy + ky) * os + kx
                            for ix in 0..<side {
                                let v = irow[ix]
                                a0 = a0.addingProduct(v, drow[ix]); a1 = a1.addingProduct(v, drow[ix + 1])
                                a2 = a2.addingProduct(v, drow[ix + 2]); a3 = a3.addingProduct(v, drow[ix + 3])
                            }
                        }
                        g[ky * k + kx] += hsum(a0); g[ky * k + kx + 1] += hsum(a1)
                        g[ky * k + kx + 2] += hsum(a2); g[ky * k + kx + 3] += hsum(a3)
                        kx += 4
                    } else {
                        var a0 = SIMD16<S>()
                        for iy in 0..<side {
                            let irow = ib + iy * side
                            let drow = db + (iy + ky) * os + kx
                            for ix in 0..<side { a0 = a0.addingProduct(irow[ix], drow[ix]) }
                        }
                        g[ky * k + kx] += hsum(a0)
                        kx += 1
                    }
                }
            }
        }
    }
}
