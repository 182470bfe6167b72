import Checkpoint

/// The decoder variants of `vae-train --decoder-layers N --activation A` (docs/training.md,
/// "Decoder variants"). The rule reproduces the report's 6-layer plan (ModelConfig.standard).
extension ModelConfig {
    /// The layer counts the report compared.
    public static let decoderLayerCounts = [4, 5, 6, 8]

    /// A hidden layer's activation: ReLU, or LeakyReLU with its negative slope.
    public enum HiddenActivation: Equatable, Sendable {
        case relu
        case leakyReLU(slope: Float)

        /// Parses `relu`, `leaky-relu` (slope 0.01) or `leaky-relu:SLOPE`; nil with a reason if not.
        public static func parse(_ s: String) -> (HiddenActivation?, String?) {
            if s == "relu" { return (.relu, nil) }
            if s == "leaky-relu" { return (.leakyReLU(slope: 0.01), nil) }
            if s.hasPrefix("leaky-relu:") {
                let t = String(s.dropFirst("leaky-relu:".count))
                guard let v = Float(t), v.isFinite else { return (nil, "the slope in '\(s)' is not a number") }
                guard v > 0 && v < 1 else { return (nil, "the LeakyReLU slope must be in (0, 1) (got \(t))") }
                return (.leakyReLU(slope: v), nil)
            }
            return (nil, "'\(s)' is not an activation; use relu, leaky-relu or leaky-relu:SLOPE")
        }

        var code: Activation { if case .relu = self { return .relu }; return .leakyReLU }
        var slope: Float { if case .leakyReLU(let s) = self { return s }; return 0 }
    }

    /// Output channels of each of n layers: a straight line from 16 down to 4 over the first
    /// n - 2 layers (16 - 12 (j + 1) / (n - 2)), then 2, then 1.
    public static func decoderChannels(layers n: Int) -> [Int] {
        precondition(n >= 3 && 12 % (n - 2) == 0)
        return (0..<(n - 2)).map { 16 - 12 * ($0 + 1) / (n - 2) } + [2, 1]
    }

    /// Odd kernels that grow the side from 2 to 28 (stride 1, no padding: each adds k - 1): the
    /// 13 half-steps (k - 1) / 2 are shared out by largest remainder in proportion to
    /// 2n + 1, 2n - 1, ..., 5, 3 (front-loaded, as the report's plan), ties to the earlier layer.
    public static func decoderKernels(layers n: Int) -> [Int] {
        let halfSteps = (28 - 2) / 2
        let weights = (0..<n).map { 2 * (n - $0) + 1 }
        let sum = weights.reduce(0, +)
        var h = weights.map { halfSteps * $0 / sum }
        let rem = weights.map { halfSteps * $0 % sum }
        let left = halfSteps - h.reduce(0, +)
        let order = (0..<n).sorted { rem[$0] != rem[$1] ? rem[$0] > rem[$1] : $0 < $1 }
        for j in order.prefix(left) { h[j] += 1 }
        return h.map { 2 * $0 + 1 }
    }

    /// The decoder of n layers with the given hidden activation (the last layer is a sigmoid).
    public static func decoder(layers n: Int, activation: HiddenActivation = .leakyReLU(slope: 0.01)) -> ModelConfig {
        let ch = decoderChannels(layers: n), ks = decoderKernels(layers: n)
        var inC = 16
        var layers: [DeconvLayer] = []
        for j in 0..<n {
            let last = j == n - 1
            layers.append(DeconvLayer(inC, ch[j], kernel: ks[j], activation: last ? .sigmoid : activation.code,
                                      slope: last ? 0 : activation.slope))
            inC = ch[j]
        }
        return ModelConfig(layers: layers)
    }
}

extension ModelConfig.Sampler {
    /// `vae-train --sampler`'s spelling: fc or split.
    public init?(option: String) {
        switch option {
        case "fc": self = .linearHeads
        case "split": self = .split
        default: return nil
        }
    }

    public var option: String { self == .linearHeads ? "fc" : "split" }
}
