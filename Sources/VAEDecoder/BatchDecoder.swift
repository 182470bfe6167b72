#if arch(x86_64) || arch(arm64)
/// Sixteen images at once, one per SIMD lane (hosts only). Every lane runs exactly the
/// per-output operation sequence of docs/checkpoint-format.md section 2.1, so each image's bits
/// equal what `Decoder` makes of it alone; but no lane ever idles on a tap that does not exist,
/// which is where the single-image kernels lose time.
public struct BatchDecoder {
    public static let lanes = 16
    public let model: DecoderModel
    let bufferA: UnsafeMutablePointer<SIMD16<Float>>
    let bufferB: UnsafeMutablePointer<SIMD16<Float>>

    /// Arena bytes for `model`: two activation buffers of 16 lanes (64-byte aligned).
    public static func arenaBytes(for model: DecoderModel) -> Int { 2 * max(model.maxActivation, model.latent) * 64 }

    public init(model: DecoderModel, arena: UnsafeMutableRawBufferPointer) throws(DecoderError) {
        guard let base = arena.baseAddress else { throw .badArgument }
        guard Int(bitPattern: base) & 63 == 0 else { throw .misaligned }
        guard arena.count >= BatchDecoder.arenaBytes(for: model) else { throw .arenaTooSmall }
        self.model = model
        bufferA = base.assumingMemoryBound(to: SIMD16<Float>.self)
        bufferB = bufferA + max(model.maxActivation, model.latent)
    }

    /// latents[i * latent + j] for i < count (count <= 16) -> out[i * pixelCount + p].
    public func decode(latents: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let last = run(latents: latents, count: count)
        let px = model.pixelCount
        for p in 0..<px {
            let v = last[p]
            for i in 0..<count { out[i * px + p] = v[i] }
        }
    }

    /// The same, quantised to 8-bit pixels.
    public func decode(latents: UnsafePointer<Float>, count: Int, pixels: UnsafeMutablePointer<UInt8>) {
        let last = run(latents: latents, count: count)
        let px = model.pixelCount
        for p in 0..<px {
            let v = last[p]
            for i in 0..<count { pixels[i * px + p] = Pixels.quantize(v[i]) }
        }
    }

    func run(latents: UnsafePointer<Float>, count: Int) -> UnsafeMutablePointer<SIMD16<Float>> {
        let d = model.latent
        for j in 0..<d {
            var v = SIMD16<Float>()
            for i in 0..<min(count, 16) { v[i] = latents[i * d + j] }
            bufferA[j] = v
        }
        var src = bufferA, dst = bufferB
        for i in 0..<model.layerCount {
            lanesLayer(model.layers[i], src, dst)
            swap(&src, &dst)
        }
        return src
    }
}

/// One layer over 16 images: for each output, acc = bias; ic ascending; iy ascending (ky
/// descending); ix ascending (kx descending); acc = fma(x, w, acc). Four output channels share
/// each input load.
private func lanesLayer(_ l: DecoderLayer, _ input: UnsafeMutablePointer<SIMD16<Float>>, _ output: UnsafeMutablePointer<SIMD16<Float>>) {
    let outC = l.outChannels
    var oc = 0
    while oc < outC {
        let n = min(4, outC - oc)
        switch n {
        case 4: lanesTile(l, input, output, oc, 4)
        case 3: lanesTile(l, input, output, oc, 3)
        case 2: lanesTile(l, input, output, oc, 2)
        default: lanesTile(l, input, output, oc, 1)
        }
        oc += n
    }
}

/// Output channels oc ..< oc + n (n is a constant at each call site, so its tests fold away).
@inline(__always)
private func lanesTile(_ l: DecoderLayer, _ input: UnsafeMutablePointer<SIMD16<Float>>, _ output: UnsafeMutablePointer<SIMD16<Float>>,
                       _ oc: Int, _ n: Int) {
    let side = l.inSide, k = l.kernel, os = l.outSide, kk = k * k, outC = l.outChannels
    let w = l.weights.unsafelyUnwrapped, b = l.bias.unsafelyUnwrapped
    let inPlane = side * side, outPlane = os * os
    let act = l.activation, slope = l.slope
    do {
        for oy in 0..<os {
            let kyLo = max(0, oy - side + 1), kyHi = min(k - 1, oy)
            for ox in 0..<os {
                let kxLo = max(0, ox - side + 1), kxHi = min(k - 1, ox)
                var (a0, a1, a2, a3) = biasVectors(b, oc, n)
                for ic in 0..<l.inChannels {
                    let wb = w + (ic * outC + oc) * kk
                    let ib = input + ic * inPlane
                    var ky = kyHi
                    while ky >= kyLo {
                        let irow = ib + (oy - ky) * side + ox
                        let wr = wb + ky * k
                        var kx = kxHi
                        while kx >= kxLo {
                            let v = irow[-kx]
                            a0 = a0.addingProduct(v, wr[kx])
                            if n > 1 { a1 = a1.addingProduct(v, wr[kk + kx]) }
                            if n > 2 { a2 = a2.addingProduct(v, wr[2 * kk + kx]) }
                            if n > 3 { a3 = a3.addingProduct(v, wr[3 * kk + kx]) }
                            kx -= 1
                        }
                        ky -= 1
                    }
                }
                let o = output + oc * outPlane + oy * os + ox
                o[0] = activate16(a0, act, slope)
                if n > 1 { o[outPlane] = activate16(a1, act, slope) }
                if n > 2 { o[2 * outPlane] = activate16(a2, act, slope) }
                if n > 3 { o[3 * outPlane] = activate16(a3, act, slope) }
            }
        }
    }
}
#endif
