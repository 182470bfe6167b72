#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ToolSupport
import VAEDecoder

public struct CheckpointError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public init(path: String, problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(Path.shown(path)): \(problem)" }
}

/// The optimiser and RNG state a run needs to resume (docs/checkpoint-format.md, 1.4).
public struct TrainingBlock: Equatable {
    public var epochsCompleted: Int
    public var steps: UInt64
    public var batchSize: Int
    public var shardsPerBatch: Int
    public var lr: Double, beta1: Double, beta2: Double, eps: Double
    public var seed: UInt64
    public var rng: [UInt64]          // 4 words
    public var imagesPerEpoch: Int
    public var adamM: [Float]         // flat, ParamLayout order
    public var adamV: [Float]
    public init(epochsCompleted: Int, steps: UInt64, batchSize: Int, shardsPerBatch: Int, lr: Double, beta1: Double,
                beta2: Double, eps: Double, seed: UInt64, rng: [UInt64], imagesPerEpoch: Int, adamM: [Float], adamV: [Float]) {
        self.epochsCompleted = epochsCompleted; self.steps = steps; self.batchSize = batchSize
        self.shardsPerBatch = shardsPerBatch; self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.seed = seed; self.rng = rng; self.imagesPerEpoch = imagesPerEpoch; self.adamM = adamM; self.adamV = adamV
    }
}

/// What a checkpoint holds, in memory.
public struct CheckpointContents {
    public var config: ModelConfig
    public var params: [Float]              // flat, ParamLayout(config) order
    public var training: TrainingBlock?
    public var history: [[Double]]          // rows of 8 columns (1.5)
    /// The `DEC8` section: an int8 decoder image (docs/quantisation.md), written by
    /// `vae-train quantise`. Training never carries it forward: new weights make it stale.
    public var int8DecoderImage: [UInt8]?
    /// Section PRIO, when the file has one (fitted to these weights; training drops it).
    public var classPriors: ClassPriors?
    /// Batch norm's running mean and variance (ParamLayout.running order; empty without batch
    /// norm): section NORM, with the unfolded convolutions `params` holds.
    public var batchNormRunning: [Float]
    public init(config: ModelConfig, params: [Float], training: TrainingBlock?, history: [[Double]], int8DecoderImage: [UInt8]? = nil,
                classPriors: ClassPriors? = nil, batchNormRunning: [Float] = []) {
        self.classPriors = classPriors; self.batchNormRunning = batchNormRunning
        self.config = config; self.params = params; self.training = training; self.history = history
        self.int8DecoderImage = int8DecoderImage
    }
}

extension CheckpointContents {
    /// The model as the runtime runs it: batch norm folded into the convolutions (the decoder
    /// image's weights); (config, params) themselves without batch norm.
    public var inferenceModel: (config: ModelConfig, params: [Float]) {
        guard config.batchNorm else { return (config, params) }
        return (config.inference, BatchNormFold.inferenceParams(config, params: params, running: batchNormRunning))
    }
}

public enum SectionTag {
    static func tag(_ s: String) -> UInt32 {
        let b = Array(s.utf8); precondition(b.count == 4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }
    public static let encoder = tag("ENC "), decoder = tag("DEC "), optimizer = tag("OPT "), history = tag("HIST")
    /// Since minor version 1; non-critical, so a v1.0 reader skips it.
    public static let decoderInt8 = tag("DEC8")
    /// Since minor version 2; non-critical: class-conditional latent Gaussians (1.7).
    public static let classPriors = tag("PRIO")
    /// Since minor version 3; non-critical: batch norm's parameters and running statistics and
    /// the convolutions before folding (1.8), which only training needs.
    public static let batchNorm = tag("NORM")
    static let known: Set<UInt32> = [encoder, decoder, optimizer, history, decoderInt8, classPriors, batchNorm]
    public static func name(_ t: UInt32) -> String {
        let b = (0..<4).map { UInt8((t >> (8 * UInt32($0))) & 0xFF) }
        if b.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return "\"" + String(decoding: b, as: UTF8.self) + "\"" }
        return cformat("0x%08x", t)
    }
}

enum Limits {
    static let headerMax = 1 << 20
    static let sectionRawMax = 256 << 20
    static let sections = 32
    static let tensors = 4096
    static let nameMax = 128
    static let dimMax = 1 << 24
    static let historyRows = 100_000
    static let decoderLayers = 16
    static let channels = 4096
    static let kernel = 64
}

enum DType: UInt8 {
    case f32 = 1, f64 = 2, i8 = 3, i32 = 4
    var size: Int { switch self { case .f32, .i32: return 4; case .f64: return 8; case .i8: return 1 } }
}

struct TensorEntry {
    var section: UInt32
    var dtype: DType
    var name: String
    var shape: [Int]
    var offset: Int
    var byteLength: Int
}

struct SectionEntry {
    var tag: UInt32
    var flags: UInt32
    var offset: Int
    var stored: Int
    var raw: Int
    var storedCRC: UInt32
    var rawCRC: UInt32
    var critical: Bool { flags & 1 != 0 }
}

public enum CheckpointFormat {
    public static let magic: [UInt8] = Array("VAECKPT".utf8) + [0]
    public static let major: UInt16 = 1
    /// 1: the optional `DEC8` section (an int8 decoder image); 2: the optional `PRIO` section
    /// (class priors).
    public static let minor: UInt16 = 2
    /// 3: the decoder variants' fields (head kind 2, the split sampler; the normalisation field
    /// and section NORM, batch norm). Written only by files that use them, so a file of any
    /// earlier model keeps the bytes it had.
    public static let minorVariants: UInt16 = 3

    /// The minor version a file of this model is written with.
    public static func minor(for c: ModelConfig) -> UInt16 {
        c.sampler == .linearHeads && !c.batchNorm ? minor : minorVariants
    }
}

/// Which decoder image a reader wants from a checkpoint.
public enum DecoderPrecision: String, Sendable {
    case float32, int8
}
