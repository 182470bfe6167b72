// What the libFuzzer harnesses share: seed inputs (a tiny model's decoder image and checkpoint,
// the shipped checkpoint's float32 and int8 decoder images) and CRC re-signing, so that
// mutated images get past the checksum to the checks behind it.
import Checkpoint
import VAEDecoder
#if canImport(Glibc)
import Glibc
#endif

public enum FuzzSupport {
    /// A tiny model (4x4 images, latent 4, two layers): its decoder image is 160 bytes and its
    /// checkpoint under a kilobyte, so that mutations land on structure, not on weights.
    public static var tinyConfig: ModelConfig {
        var c = ModelConfig(layers: [
            .init(1, 2, kernel: 2, activation: .leakyReLU, slope: 0.01),
            .init(2, 1, kernel: 2, activation: .sigmoid),
        ])
        c.imageSize = 4; c.hidden = 2; c.latent = 4; c.view = (1, 2, 2)
        return c
    }

    /// Deterministic small values.
    public static func values(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2001 - 1000) / 1000
        }
    }

    public static func tinyCheckpoint(training: Bool) -> [UInt8] {
        let c = tinyConfig
        let n = ParamLayout(c).total
        let t = training ? TrainingBlock(epochsCompleted: 3, steps: 12, batchSize: 4, shardsPerBatch: 1, lr: 1e-3, beta1: 0.9,
                                         beta2: 0.999, eps: 1e-8, seed: 7, rng: [1, 2, 3, 4], imagesPerEpoch: 16,
                                         adamM: values(n, seed: 2), adamV: values(n, seed: 3).map { abs($0) }) : nil
        let history: [[Double]] = training ? [[1, 0.5, 100, 20, 120, 101, 21, 122], [2, 0.5, 90, 21, 111, 95, 22, 117]] : []
        return CheckpointWriter.encode(CheckpointContents(config: c, params: values(n, seed: 1), training: t, history: history))
    }

    /// The tiny model with the split sampler (hidden = 2 x latent) and batch norm: head kind 2,
    /// the normalisation field and section NORM, whose fold the reader checks against DEC.
    public static func tinyVariantCheckpoint() -> [UInt8] {
        var c = tinyConfig
        c.hidden = 8; c.sampler = .split; c.batchNorm = true
        let lay = ParamLayout(c)
        let n = lay.total
        let t = TrainingBlock(epochsCompleted: 1, steps: 4, batchSize: 4, shardsPerBatch: 1, lr: 1e-3, beta1: 0.9, beta2: 0.999,
                              eps: 1e-8, seed: 7, rng: [1, 2, 3, 4], imagesPerEpoch: 16, adamM: values(n, seed: 2),
                              adamV: values(n, seed: 3).map { abs($0) })
        let running = values(lay.runningTotal, seed: 4).enumerated().map { $0.offset % 4 >= 2 ? abs($0.element) + 0.5 : $0.element }
        return CheckpointWriter.encode(CheckpointContents(config: c, params: values(n, seed: 1), training: t,
                                                          history: [[1, 0.5, 100, 20, 120, 101, 21, 122]], batchNormRunning: running))
    }

    public static func tinyDecoderImage() -> [UInt8] {
        let c = tinyConfig
        let layout = ParamLayout(c)
        let p = values(layout.total, seed: 1)
        return DecoderImageBuilder.build(c) { name in
            let e = layout.entry(named: name)!
            return Array(p[e.offset..<(e.offset + e.count)])
        }
    }

    /// The seeds of every harness: the tiny model's, and the shipped checkpoint's if it is there.
    public static func decoderImageSeeds() -> [(String, [UInt8])] {
        var s = [("tiny-float32.vaed", tinyDecoderImage())]
        // (Fuzz/corpus/*/tiny-float32-priors.vaed, the tiny image with three full class priors,
        // was written once by python/vaebridge's attach_priors: a second writer of the format.)
        let shipped = "checkpoints/vae-mnist.vaeckpt"
        if let f = try? CheckpointReader.readDecoderImage(shipped).image { s.append(("shipped-float32.vaed", f)) }
        if let q = try? CheckpointReader.readDecoderImage(shipped, precision: .int8).image { s.append(("shipped-int8.vaed", q)) }
        return s
    }

    /// Sets a decoder image's CRC-32 to match its bytes (when its total length is inside them).
    public static func resign(_ b: inout [UInt8]) {
        guard b.count >= 64 else { return }
        let total = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
        guard total >= 16, total <= b.count else { return }
        let crc = b[16..<total].withUnsafeBytes { CRC32.checksum($0) }
        for i in 0..<4 { b[12 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    }

    /// From LLVMFuzzerInitialize: with VAE_FUZZ_SEEDS=DIR in the environment, writes the seeds
    /// into DIR and exits (scripts/fuzz.sh makes a corpus that way).
    public static func writeSeedsIfAsked(_ seeds: () -> [(String, [UInt8])]) {
        guard let dir = getenv("VAE_FUZZ_SEEDS").map({ String(cString: $0) }) else { return }
        for (name, bytes) in seeds() {
            let path = dir + "/" + name
            guard let f = fopen(path, "wb") else { fputs("cannot write \(path)\n", stderr); exit(1) }
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
        }
        exit(0)
    }
}
