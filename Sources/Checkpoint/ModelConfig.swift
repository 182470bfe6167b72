import VAEDecoder

/// The model's shape: one value describes it, and the checkpoint's architecture block is
/// written from (and checked against) it.
public struct ModelConfig: Equatable, Sendable {
    /// The runtime's enum (one definition: its raw values are the format's activation codes).
    public typealias Activation = VAEDecoder.Activation

    public struct DeconvLayer: Equatable, Sendable {
        public var inChannels: Int
        public var outChannels: Int
        public var kernel: Int
        public var activation: Activation
        public var slope: Float  // LeakyReLU's negative slope
        public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, activation: Activation, slope: Float = 0) {
            self.inChannels = inChannels; self.outChannels = outChannels; self.kernel = kernel
            self.activation = activation; self.slope = slope
        }
    }

    /// How the LSTM's last hidden state becomes the latent's mean and log-variance: the
    /// architecture block's head kind (docs/checkpoint-format.md 1.1).
    public enum Sampler: UInt32, Equatable, Sendable {
        /// Two Linear(hidden -> latent) heads ("FC+" in the original report).
        case linearHeads = 1
        /// No heads: the first `latent` components of h are the mean, the rest the
        /// log-variance ("FC-"); needs hidden = 2 * latent.
        case split = 2
    }

    public var imageSize = 28          // rows = LSTM steps, columns = LSTM input
    public var hidden = 128
    public var latent = 64
    public var view = (c: 16, h: 2, w: 2)
    public var layers: [DeconvLayer]
    public var sampler = Sampler.linearHeads
    /// BatchNorm2d after every hidden layer's convolution, before its activation: batch
    /// statistics in training, running ones (PyTorch's momentum and eps) otherwise. Trainer-only:
    /// the decoder image has it folded into the convolutions' weights and biases.
    public var batchNorm = false
    public static let batchNormMomentum = 0.1, batchNormEps = 1e-5

    public static func == (a: ModelConfig, b: ModelConfig) -> Bool {
        a.imageSize == b.imageSize && a.hidden == b.hidden && a.latent == b.latent
            && a.view == b.view && a.layers == b.layers && a.sampler == b.sampler && a.batchNorm == b.batchNorm
    }

    /// The layers followed by a batch norm (all but the last, when batchNorm is on).
    public var normalisedLayers: Range<Int> { batchNorm ? 0..<(layers.count - 1) : 0..<0 }

    /// The same model as the runtime sees it: batch norm folded away.
    public var inference: ModelConfig { var c = self; c.batchNorm = false; return c }

    /// The model of scripts/torch_ref.py and docs/training.md.
    public static let standard = ModelConfig(layers: [
        DeconvLayer(16, 13, kernel: 9, activation: .leakyReLU, slope: 0.01),
        DeconvLayer(13, 10, kernel: 7, activation: .leakyReLU, slope: 0.01),
        DeconvLayer(10, 7, kernel: 5, activation: .leakyReLU, slope: 0.01),
        DeconvLayer(7, 4, kernel: 5, activation: .leakyReLU, slope: 0.01),
        DeconvLayer(4, 2, kernel: 3, activation: .leakyReLU, slope: 0.01),
        DeconvLayer(2, 1, kernel: 3, activation: .sigmoid),
    ])

    public init(layers: [DeconvLayer]) { self.layers = layers }

    public var pixels: Int { imageSize * imageSize }
    public var gates: Int { 4 * hidden }

    /// Spatial side of layer i's input (i = layers.count gives the output side).
    public func side(atLayer i: Int) -> Int {
        var s = view.h
        for l in 0..<i { s += layers[l].kernel - 1 }
        return s
    }

    /// Checks the chain rule the checkpoint format states; returns a reason when it fails.
    public func validate() -> String? {
        if layers.isEmpty { return "the decoder has no layers" }
        if view.h != view.w { return "the decoder view must be square" }
        if view.c * view.h * view.w != latent { return "view \(view.c)x\(view.h)x\(view.w) does not hold latent \(latent)" }
        if sampler == .split && hidden != 2 * latent {
            return "the split sampler halves the hidden state, so hidden (\(hidden)) must be twice the latent (\(latent))"
        }
        var c = view.c
        for (i, l) in layers.enumerated() {
            if l.inChannels != c { return "decoder layer \(i) takes \(l.inChannels) channels, the previous gives \(c)" }
            if l.kernel < 1 || l.outChannels < 1 { return "decoder layer \(i) has an empty kernel or no channels" }
            c = l.outChannels
        }
        if c != 1 { return "the decoder ends with \(c) channels, not 1" }
        if side(atLayer: layers.count) != imageSize {
            return "the decoder produces \(side(atLayer: layers.count))x\(side(atLayer: layers.count)), not \(imageSize)x\(imageSize)"
        }
        if layers.last!.activation != .sigmoid { return "the last decoder layer must end in a sigmoid (the loss is BCE)" }
        return nil
    }
}

/// Where each tensor sits in the flat parameter vector. Names and layouts are PyTorch's.
public struct ParamLayout: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var shape: [Int]
        public var offset: Int
        public var count: Int { shape.reduce(1, *) }
        public var isDecoder: Bool { name.hasPrefix("convs.") }
        public var isBatchNorm: Bool { name.hasPrefix("bns.") }
    }
    public let entries: [Entry]
    public let total: Int
    // Offsets of the tensors the kernels use (the heads' are -1 with the split sampler).
    public let wih, whh, bih, bhh, muW, muB, lvW, lvB: Int
    public let convW: [Int], convB: [Int]
    /// Batch norm's scale and shift of layer i (i in config.normalisedLayers), and where its
    /// running mean and variance sit in the running-statistics vector (mean, then variance).
    public let bnW: [Int], bnB: [Int], running: [Int]
    public let runningTotal: Int

    public init(_ c: ModelConfig) {
        var e: [Entry] = []
        var off = 0
        func add(_ n: String, _ s: [Int]) -> Int {
            e.append(Entry(name: n, shape: s, offset: off)); let o = off; off += s.reduce(1, *); return o
        }
        wih = add("lstm.weight_ih_l0", [c.gates, c.imageSize])
        whh = add("lstm.weight_hh_l0", [c.gates, c.hidden])
        bih = add("lstm.bias_ih_l0", [c.gates])
        bhh = add("lstm.bias_hh_l0", [c.gates])
        if c.sampler == .linearHeads {
            muW = add("fc_mu.weight", [c.latent, c.hidden])
            muB = add("fc_mu.bias", [c.latent])
            lvW = add("fc_logvar.weight", [c.latent, c.hidden])
            lvB = add("fc_logvar.bias", [c.latent])
        } else {
            (muW, muB, lvW, lvB) = (-1, -1, -1, -1)
        }
        var cw: [Int] = [], cb: [Int] = []
        for (i, l) in c.layers.enumerated() {
            cw.append(add("convs.\(i).weight", [l.inChannels, l.outChannels, l.kernel, l.kernel]))
            cb.append(add("convs.\(i).bias", [l.outChannels]))
        }
        convW = cw; convB = cb
        var bw: [Int] = [], bb: [Int] = [], run: [Int] = []
        var runOff = 0
        for i in c.normalisedLayers {
            let n = c.layers[i].outChannels
            bw.append(add("bns.\(i).weight", [n]))
            bb.append(add("bns.\(i).bias", [n]))
            run.append(runOff); runOff += 2 * n
        }
        bnW = bw; bnB = bb; running = run; runningTotal = runOff
        entries = e; total = off
    }

    public func entry(named n: String) -> Entry? { entries.first { $0.name == n } }
}

/// Batch norm folded into the convolution before it, with the running statistics (what the
/// decoder image carries): W'[ic][oc] = W[ic][oc] s[oc], b'[oc] = (b[oc] - mean[oc]) s[oc] + beta[oc],
/// s = gamma / sqrt(var + eps). Computed in Double and rounded once, so writer and reader agree.
public enum BatchNormFold {
    /// `convs.K.weight` / `convs.K.bias` of the folded decoder (the runtime's), by name.
    public static func decoderTensor(_ c: ModelConfig, params: [Float], running: [Float], name: String) -> [Float] {
        let lay = ParamLayout(c)
        let parts = name.split(separator: ".")
        let i = Int(parts[1])!, isWeight = parts[2] == "weight"
        let l = c.layers[i]
        let raw = Array(params[(isWeight ? lay.convW[i] : lay.convB[i])...].prefix(isWeight ? l.inChannels * l.outChannels * l.kernel * l.kernel : l.outChannels))
        guard c.normalisedLayers.contains(i) else { return raw }
        let n = l.outChannels, kk = l.kernel * l.kernel
        let scale = (0..<n).map { oc in
            Double(params[lay.bnW[i] + oc]) / (Double(running[lay.running[i] + n + oc]) + ModelConfig.batchNormEps).squareRoot()
        }
        if isWeight { return raw.indices.map { Float(Double(raw[$0]) * scale[$0 / kk % n]) } }
        return (0..<n).map { oc in
            Float((Double(raw[oc]) - Double(running[lay.running[i] + oc])) * scale[oc] + Double(params[lay.bnB[i] + oc]))
        }
    }

    /// The folded model's flat parameters (ParamLayout(c.inference) order).
    public static func inferenceParams(_ c: ModelConfig, params: [Float], running: [Float]) -> [Float] {
        let lay = ParamLayout(c), plain = ParamLayout(c.inference)
        var out = [Float](repeating: 0, count: plain.total)
        for e in plain.entries {
            let v = e.isDecoder ? decoderTensor(c, params: params, running: running, name: e.name)
                                : Array(params[lay.entry(named: e.name)!.offset...].prefix(e.count))
            out.replaceSubrange(e.offset..<(e.offset + e.count), with: v)
        }
        return out
    }
}
