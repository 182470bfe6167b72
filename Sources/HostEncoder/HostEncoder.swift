#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Checkpoint

/// The model's encoder (LSTM over the 28 image rows, then the mean and log-variance heads, or
/// the two halves of the last hidden state with the split sampler) for
/// host tools that turn images into latents. The runtime stays decoder-only: this lives beside
/// it, plain scalar Swift over the checkpoint's `ENC ` tensors, the same maths as the trainer
/// (gates i, f, g, o; c = f*c + i*g; h = o*tanh(c)), fast enough for the few images a person
/// brings (about a millisecond each).
public struct HostEncoder {
    public let config: ModelConfig
    let params: [Float]
    let layout: ParamLayout

    public init(config: ModelConfig, params: [Float]) {
        precondition(params.count == ParamLayout(config).total)
        self.config = config; self.params = params; layout = ParamLayout(config)
    }

    /// The encoder of a checkpoint (every section checked by the reader).
    public init(checkpoint path: String) throws {
        let c = try CheckpointReader.read(path)
        self.init(config: c.config, params: c.params)
    }

    /// 8-bit pixels (row-major, config.pixels of them) -> (mu, log-variance).
    public func encode(_ pixels: [UInt8]) -> (mu: [Float], logvar: [Float]) {
        precondition(pixels.count == config.pixels)
        let T = config.imageSize, I = config.imageSize, H = config.hidden, G = 4 * H, L = config.latent
        var h = [Float](repeating: 0, count: H), c = h, g = [Float](repeating: 0, count: G)
        let x = pixels.map { Float($0) / 255 }
        params.withUnsafeBufferPointer { p in
            for t in 0..<T {
                for r in 0..<G {
                    var acc = p[layout.bih + r] + p[layout.bhh + r]
                    let wi = layout.wih + r * I, wh = layout.whh + r * H
                    for k in 0..<I { acc += p[wi + k] * x[t * I + k] }
                    for k in 0..<H { acc += p[wh + k] * h[k] }
                    g[r] = acc
                }
                for j in 0..<H {
                    let ig = sigmoid(g[j]), fg = sigmoid(g[H + j]), gg = tanhf(g[2 * H + j]), og = sigmoid(g[3 * H + j])
                    c[j] = fg * c[j] + ig * gg
                    h[j] = og * tanhf(c[j])
                }
            }
        }
        func head(_ w: Int, _ b: Int) -> [Float] {
            (0..<L).map { l in
                var acc = params[b + l]
                for k in 0..<H { acc += params[w + l * H + k] * h[k] }
                return acc
            }
        }
        if config.sampler == .split { return (Array(h[0..<L]), Array(h[L..<(2 * L)])) }
        return (head(layout.muW, layout.muB), head(layout.lvW, layout.lvB))
    }

    func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }

    /// Binary cross-entropy summed over the pixels, each log clamped at -100 as PyTorch (and
    /// the trainer's loss) does: the reconstruction term of the VAE's loss, per image.
    public static func bce(target: [UInt8], predicted: [Float]) -> Double {
        var s = 0.0
        for (t8, p) in zip(target, predicted) {
            let t = Double(t8) / 255, pd = Double(p)
            s -= t * max(log(pd), -100) + (1 - t) * max(log(1 - pd), -100)
        }
        return s
    }
}
