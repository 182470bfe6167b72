import Checkpoint
/// Sixteen images' worth of forward and backward state. Every buffer is allocated once, when the
/// shard is made; a training step only writes into them.
public final class Shard<S: TrainScalar> {
    public let config: ModelConfig
    let layout: ParamLayout
    let T: Int, I: Int, H: Int, G: Int, L: Int
    /// Row strides (in vectors) of h and of gates/dA: one vector more than a row, so that the
    /// rows of one tile (H = 128 vectors = 8 KiB, G = 32 KiB apart otherwise) do not all fall
    /// in the same L1 cache set when the outer products walk down the 28 steps.
    let HS: Int, GS: Int

    // Inputs for one step.
    let x: VPtr<S>          // [T][I]: row t of 16 images
    let eps: VPtr<S>        // [L]
    public var mask = SIMD16<S>(repeating: 1)  // 0 for lanes that hold no image

    // LSTM state kept for backpropagation through time.
    let gates: VPtr<S>      // [T][4H] (row stride GS) after their nonlinearities (i, f, g, o)
    let c: VPtr<S>          // [T+1][H], c[0] = 0
    let h: VPtr<S>          // [T+1][H] (row stride HS), h[0] = 0
    let tc: VPtr<S>         // [T][H] tanh(c_t)
    let dA: VPtr<S>         // [T][4H] (row stride GS) gradient w.r.t. the gates' pre-activations
    let dh: VPtr<S>, dc: VPtr<S>

    public let mu: VPtr<S>, logvar: VPtr<S>, z: VPtr<S>
    let dmu: VPtr<S>, dlv: VPtr<S>

    /// acts[0] is z viewed as C x h x w; acts[i + 1] is layer i's output after its activation.
    let acts: [VPtr<S>]
    /// dacts[i] is the gradient w.r.t. acts[i] (for i > 0: w.r.t. layer i-1's pre-activation).
    let dacts: [VPtr<S>]
    let actSizes: [Int]
    /// Batch norm (layers in config.normalisedLayers): the convolution's output before it, and
    /// the statistics it normalises with (the batch's in training, the running ones otherwise).
    let bnPre: [VPtr<S>]
    var bnMean: [[S]], bnInvStd: [[S]]

    /// Per-lane losses of the last forward pass.
    public private(set) var recLanes = SIMD16<S>()
    public private(set) var klLanes = SIMD16<S>()

    /// This shard's gradient (same layout as the parameters); zeroed by `zeroGrad`.
    public let grad: UnsafeMutablePointer<S>

    public init(config: ModelConfig) {
        self.config = config
        layout = ParamLayout(config)
        T = config.imageSize; I = config.imageSize; H = config.hidden; G = 4 * config.hidden; L = config.latent
        HS = H + 1; GS = G + 1
        func alloc(_ n: Int) -> VPtr<S> {
            let p = VPtr<S>.allocate(capacity: max(n, 1)); p.initialize(repeating: SIMD16<S>(), count: max(n, 1)); return p
        }
        x = alloc(T * I); eps = alloc(L)
        gates = alloc(T * GS); c = alloc((T + 1) * H); h = alloc((T + 1) * HS); tc = alloc(T * H)
        dA = alloc(T * GS); dh = alloc(H); dc = alloc(H)
        mu = alloc(L); logvar = alloc(L); z = alloc(L); dmu = alloc(L); dlv = alloc(L)
        var sizes = [config.view.c * config.view.h * config.view.w]
        for (i, l) in config.layers.enumerated() {
            let s = config.side(atLayer: i + 1)
            sizes.append(l.outChannels * s * s)
        }
        actSizes = sizes
        acts = sizes.map { alloc($0) }
        dacts = sizes.map { alloc($0) }
        bnPre = config.normalisedLayers.map { alloc(sizes[$0 + 1]) }
        bnMean = config.normalisedLayers.map { [S](repeating: 0, count: config.layers[$0].outChannels) }
        bnInvStd = bnMean.map { $0.map { _ in 1 } }
        grad = UnsafeMutablePointer<S>.allocate(capacity: layout.total)
        grad.initialize(repeating: 0, count: layout.total)
    }

    deinit {
        for p in [x, eps, gates, c, h, tc, dA, dh, dc, mu, logvar, z, dmu, dlv] { p.deallocate() }
        for p in acts { p.deallocate() }
        for p in dacts { p.deallocate() }
        for p in bnPre { p.deallocate() }
        grad.deallocate()
    }

    public func zeroGrad() { grad.update(repeating: 0, count: layout.total) }

    /// Loads images (pixel values in [0, 1], row-major 28x28) into lanes; lanes past
    /// `images.count` are zero and masked out of the loss and the gradient.
    public func setImages(_ pixels: (_ lane: Int, _ pixel: Int) -> S, count: Int) {
        let P = T * I
        for p in 0..<P {
            var v = SIMD16<S>()
            for lane in 0..<count { v[lane] = pixels(lane, p) }
            x[p] = v
        }
        var m = SIMD16<S>()
        for lane in 0..<count { m[lane] = 1 }
        mask = m
    }

    public func setNoise(_ noise: (_ lane: Int, _ j: Int) -> S) {
        for j in 0..<L {
            var v = SIMD16<S>()
            for lane in 0..<laneCount { v[lane] = noise(lane, j) }
            eps[j] = v
        }
    }

    // MARK: forward

    /// Encoder, sampling, decoder and the loss of every lane (batch norm, if any, with the
    /// statistics set by useRunningStatistics: batch statistics take BatchNormPass).
    public func forward(_ params: UnsafePointer<S>) {
        encode(params)
        decode(params)
        lossForward()
    }

    /// Encoder and sampling: z into acts[0], the KL term into klLanes.
    func encode(_ params: UnsafePointer<S>) {
        let lay = layout
        c.update(repeating: SIMD16<S>(), count: H)
        h.update(repeating: SIMD16<S>(), count: H)
        let bih = params + lay.bih, bhh = params + lay.bhh
        // The input projection of every step first (one product over all T steps), then the
        // recurrent one step by step: each gate accumulates the same products in the same order.
        for t in 0..<T {
            let g = gates + t * GS
            for r in 0..<G { g[r] = SIMD16<S>(repeating: bih[r] + bhh[r]) }
        }
        gemvLanesMulti(params + lay.wih, rows: G, cols: I, x, xStride: I, gates, outStride: GS, n: T)
        for t in 0..<T {
            let g = gates + t * GS
            gemvLanes(params + lay.whh, rows: G, cols: H, h + t * HS, g)
            lstmCellForward(g, c + t * H, c + (t + 1) * H, tc + t * H, h + (t + 1) * HS, H: H)
        }
        let hT = h + T * HS
        if config.sampler == .split {
            mu.update(from: hT, count: L)
            logvar.update(from: hT + L, count: L)
        } else {
            for l in 0..<L { mu[l] = SIMD16<S>(repeating: params[lay.muB + l]); logvar[l] = SIMD16<S>(repeating: params[lay.lvB + l]) }
            gemvLanes(params + lay.muW, rows: L, cols: H, hT, mu)
            gemvLanes(params + lay.lvW, rows: L, cols: H, hT, logvar)
        }
        var kl = SIMD16<S>()
        for l in 0..<L {
            let e = S.vexp(logvar[l])
            let sd = S.vexp(logvar[l] * 0.5)
            z[l] = mu[l] + eps[l] * sd
            kl += 1 + logvar[l] - mu[l] * mu[l] - e
        }
        klLanes = kl * -0.5 * mask
        acts[0].update(from: z, count: L)
    }

    /// BCE summed over pixels, each log clamped at -100 as PyTorch does.
    func lossForward() {
        let rec = bceForward(acts[config.layers.count], x, T * I)
        recLanes = rec * mask
    }

    /// The decoder alone: acts[0] (the latent) in, acts[last] (the pixels) out.
    func decode(_ params: UnsafePointer<S>) {
        for i in config.layers.indices {
            convolve(i, params)
            if config.normalisedLayers.contains(i) { normalise(i, params) }
            activate(i)
        }
    }

    /// Layer i's transposed convolution (into bnPre[i] when a batch norm follows).
    func convolve(_ i: Int, _ params: UnsafePointer<S>) {
        let l = config.layers[i]
        deconvForward(input: acts[i], inC: l.inChannels, side: config.side(atLayer: i), w: params + layout.convW[i],
                      b: params + layout.convB[i], outC: l.outChannels, k: l.kernel,
                      output: config.normalisedLayers.contains(i) ? bnPre[i] : acts[i + 1])
    }

    func activate(_ i: Int) {
        let l = config.layers[i]
        activationForward(acts[i + 1], actSizes[i + 1], l.activation, slope: l.slope)
    }

    /// Decodes the latents already in `z` (used by generation and the golden images).
    public func decodeLatents(_ params: UnsafePointer<S>) -> UnsafePointer<SIMD16<S>> {
        acts[0].update(from: z, count: L)
        decode(params)
        return UnsafePointer(acts[config.layers.count])
    }

    // MARK: backward

    /// Adds d(sum of this shard's losses)/d(params) into `grad`. Call after `forward` (a model
    /// without batch norm: with it, the batch's statistics need BatchNormPass).
    public func backward(_ params: UnsafePointer<S>) {
        precondition(!config.batchNorm, "batch norm's backward pass spans the batch: BatchNormPass")
        lossBackward()
        for i in config.layers.indices.reversed() { layerBackward(i, params) }
        encoderBackward(params)
    }

    /// Sigmoid + BCE, as PyTorch chains them: dL/dp = (p - x) / max(p(1-p), 1e-12), times p(1-p).
    func lossBackward() {
        let nl = config.layers.count
        bceBackward(acts[nl], x, mask: mask, T * I, dacts[nl])
    }

    /// Layer i's convolution (dacts[i + 1] holds the gradient w.r.t. its output), then the
    /// previous layer's activation: dacts[i] is left holding the gradient w.r.t. that
    /// activation's input (the batch norm's output, if layer i - 1 has one).
    func layerBackward(_ i: Int, _ params: UnsafePointer<S>) {
        let lay = layout
        let l = config.layers[i]
        let side = config.side(atLayer: i)
        deconvBackwardWeights(input: acts[i], inC: l.inChannels, side: side, dOut: dacts[i + 1], outC: l.outChannels,
                              k: l.kernel, gw: grad + lay.convW[i], gb: grad + lay.convB[i])
        deconvBackwardInput(dOut: dacts[i + 1], outC: l.outChannels, side: side, w: params + lay.convW[i],
                            inC: l.inChannels, k: l.kernel, dIn: dacts[i])
        if i > 0 {
            // Through the previous layer's activation, using its output's sign.
            let p = config.layers[i - 1]
            activationBackward(dacts[i], acts[i], actSizes[i], p.activation, slope: p.slope)
        }
    }

    /// From dz (dacts[0]) through the sampling, the KL term, the heads and the LSTM.
    func encoderBackward(_ params: UnsafePointer<S>) {
        let lay = layout
        // Sampling and KL: z = mu + eps * exp(lv / 2); KL = -1/2 sum(1 + lv - mu^2 - exp(lv)).
        let dz = dacts[0]
        for l in 0..<L {
            let sd = S.vexp(logvar[l] * 0.5)
            dmu[l] = (dz[l] + mu[l] * mask)
            dlv[l] = dz[l] * eps[l] * sd * 0.5 + (S.vexp(logvar[l]) - 1) * 0.5 * mask
        }
        if config.sampler == .split {
            dh.update(from: dmu, count: L)
            (dh + L).update(from: dlv, count: L)
        } else {
            let hT = UnsafePointer(h + T * HS)
            outerAccumulate(dmu, dyStride: 0, hT, xStride: 0, steps: 1, rows: L, cols: H, grad + lay.muW)
            outerAccumulate(dlv, dyStride: 0, hT, xStride: 0, steps: 1, rows: L, cols: H, grad + lay.lvW)
            for l in 0..<L { grad[lay.muB + l] += hsum(dmu[l]); grad[lay.lvB + l] += hsum(dlv[l]) }
            dh.update(repeating: SIMD16<S>(), count: H)
            gemvTLanes(params + lay.muW, rows: L, cols: H, dmu, dh)
            gemvTLanes(params + lay.lvW, rows: L, cols: H, dlv, dh)
        }
        // Backpropagation through time.
        dc.update(repeating: SIMD16<S>(), count: H)
        for t in stride(from: T - 1, through: 0, by: -1) {
            let g = gates + t * GS, d = dA + t * GS
            lstmCellBackward(g, c + t * H, tc + t * H, dh, dc, d, H: H)
            dh.update(repeating: SIMD16<S>(), count: H)
            if t > 0 { gemvTLanes(params + lay.whh, rows: G, cols: H, d, dh) }
        }
        outerAccumulate(dA, dyStride: GS, x, xStride: I, steps: T, rows: G, cols: I, grad + lay.wih)
        outerAccumulate(dA, dyStride: GS, h, xStride: HS, steps: T, rows: G, cols: H, grad + lay.whh)
        for r in 0..<G {
            var a = SIMD16<S>()
            for t in 0..<T { a += dA[t * GS + r] }
            let s = hsum(a)
            grad[lay.bih + r] += s
            grad[lay.bhh + r] += s
        }
    }
}
