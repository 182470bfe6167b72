import ArgumentParser
import Checkpoint
import Foundation
import ImageIO
import VAEDecoder
import VAETrainer

struct MakeGoldens: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-goldens",
        abstract: "Regenerate the golden images the decoder runtime is tested against.",
        discussion: """
        For each seed, images 0..<16: the trainer's own float decoder's
        outputs (float32, computed by the training code) and the runtime's
        8-bit images with their SHA-256 digests. When the checkpoint has an
        int8 decoder (vae-train quantise), also the trainer's int8 reference
        images (trainer-int8-seedS.bin, 784 bytes each, and digests-int8.txt),
        which the runtime's int8 kernels are tested against. Run it after
        replacing the shipped checkpoint, review the new images, and commit
        them:
          vae-train make-goldens --checkpoint checkpoints/vae-mnist.vaeckpt --out Tests/DecoderTests/Goldens
        Tests never regenerate goldens.
        """)

    @Option(help: "Checkpoint the goldens are made from.")
    var checkpoint = "checkpoints/vae-mnist.vaeckpt"

    @Option(help: "Output folder.")
    var out = "Tests/DecoderTests/Goldens"

    @Option(parsing: .upToNextOption, help: "Seeds.")
    var seeds: [UInt64] = [0, 42, 2026]

    @Option(help: "Images per seed.")
    var count = 16

    func run() throws {
        let ck: CheckpointContents
        let image: [UInt8]
        do { ck = try CheckpointReader.read(checkpoint); image = try CheckpointReader.readDecoderImage(checkpoint).image } catch { fail("\(error)") }
        guard let fileBytes = FileManager.default.contents(atPath: checkpoint) else { fail("\(checkpoint): cannot read") }
        try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let trainerDecoder = TrainerDecoder(config: ck.inferenceModel.config, params: ck.inferenceModel.params)
        // The runtime, in buffers made once (its owner type for host programs).
        let loaded: LoadedDecoder
        do { loaded = try LoadedDecoder(image: image) } catch { fail("\(checkpoint): \(error.message)") }
        let model = loaded.model, decoder = loaded.decoder
        var digests = "# SHA-256 of the runtime's 8-bit images (784 bytes each; all16 = the 16 concatenated).\n"
        digests += "checkpoint sha256 \(SHA256.hex(of: fileBytes))\n"
        for seed in seeds {
            let latents = TrainerDecoder.seededLatents(seed: seed, count: count, latent: ck.config.latent)
            let floats = trainerDecoder.decode(latents)
            var fbytes = ByteBuffer()
            for img in floats { for v in img { fbytes.append(v.bitPattern) } }
            var u8 = [UInt8](repeating: 0, count: count * model.pixelCount)
            var lat = [Float](repeating: 0, count: model.latent)
            u8.withUnsafeMutableBufferPointer { px in
                lat.withUnsafeMutableBufferPointer { l in
                    for i in 0..<count { decoder.generate(seed: seed, index: UInt64(i), latentScratch: l.baseAddress!, pixels: px.baseAddress! + i * model.pixelCount) }
                }
            }
            for i in 0..<count {
                digests += "seed \(seed) image \(i) sha256 \(SHA256.hex(of: u8[(i * model.pixelCount)..<((i + 1) * model.pixelCount)]))\n"
            }
            digests += "seed \(seed) all\(count) sha256 \(SHA256.hex(of: u8))\n"
            do {
                try AtomicFile.write(fbytes.bytes, to: (out as NSString).appendingPathComponent("trainer-f32-seed\(seed).bin"))
                let same = unchanged(u8, "runtime-u8-seed\(seed)")
                try AtomicFile.write(u8, to: (out as NSString).appendingPathComponent("runtime-u8-seed\(seed).bin"))
                if !same {
                    let grid = Grid.compose((0..<count).map { Array(u8[($0 * 784)..<(($0 + 1) * 784)]) }, tileWidth: 28, tileHeight: 28, gap: 2, scale: 3)
                    try AtomicFile.write(PNG.encode(grid), to: (out as NSString).appendingPathComponent("runtime-u8-seed\(seed).png"))
                }
            } catch { fail("\(error)") }
        }
        do { try AtomicFile.write(Array(digests.utf8), to: (out as NSString).appendingPathComponent("digests.txt")) } catch { fail("\(error)") }
        print("vae-train: goldens for seeds \(seeds.map(String.init).joined(separator: ", ")) written to \(out)")
        if let int8 = ck.int8DecoderImage {
            writeInt8Goldens(int8, config: ck.config, checkpointSHA: SHA256.hex(of: fileBytes), priors: ck.classPriors)
        } else {
            print("vae-train: \(checkpoint) has no int8 decoder (DEC8 section), so no int8 goldens; make one with `vae-train quantise --checkpoint \(checkpoint) --data DIR`")
        }
    }
}

extension MakeGoldens {
    /// Whether STEM.bin already holds these pixels and STEM.png exists: then the PNG is left as
    /// it is, since a newer PNG encoder would rewrite the same image as different bytes and make
    /// a review diff of goldens that did not change.
    func unchanged(_ pixels: [UInt8], _ stem: String) -> Bool {
        let dir = out as NSString
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(stem + ".png")),
              let old = FileManager.default.contents(atPath: dir.appendingPathComponent(stem + ".bin")) else { return false }
        return [UInt8](old) == pixels
    }

    /// The int8 goldens: the trainer's reference (Int8Reference, plain loops over the integers
    /// its own parser reads from the DEC8 image), never the runtime's kernels, which they test.
    ///
    /// With class priors, also image 0 of every class for each seed (trainer-int8-classes-seedS.bin,
    /// K x 784 bytes, and "seed S class C image 0" digests): the latent is ClassLatent.fill over the
    /// PRIO arrays, decoded by Int8Reference; firmware-sim holds vae_generate_class to them.
    func writeInt8Goldens(_ image: [UInt8], config: ModelConfig, checkpointSHA: String, priors: ClassPriors?) {
        let d: Int8Decoder
        do { d = try Int8ImageBuilder.parse(image, path: checkpoint) } catch { fail("\(error)") }
        let px = d.outputChannels * d.outputSide * d.outputSide
        var digests = "# SHA-256 of the trainer's int8 reference images (Int8Reference; \(px) bytes each; all\(count) = the \(count) concatenated).\n"
        digests += "checkpoint sha256 \(checkpointSHA)\n"
        digests += "int8 image sha256 \(SHA256.hex(of: image))\n"
        for seed in seeds {
            let latents = TrainerDecoder.seededLatents(seed: seed, count: count, latent: config.latent)
            let images = latents.map { Int8Reference.decode(d, latent: $0) }
            let u8 = images.flatMap { $0 }
            for (i, img) in images.enumerated() { digests += "seed \(seed) image \(i) sha256 \(SHA256.hex(of: img))\n" }
            digests += "seed \(seed) all\(count) sha256 \(SHA256.hex(of: u8))\n"
            if let p = priors {
                var z = [Float](repeating: 0, count: p.latent)
                let classes: [[UInt8]] = (0..<p.classes).map { c in
                    ClassLatent.fill(seed: seed, image: 0, latent: p.latent, mean: p.means[c], scale: p.scales[c], full: p.kind == .full, into: &z)
                    return Int8Reference.decode(d, latent: z)
                }
                for (c, img) in classes.enumerated() { digests += "seed \(seed) class \(c) image 0 sha256 \(SHA256.hex(of: img))\n" }
                let stem = "trainer-int8-classes-seed\(seed)", all = classes.flatMap { $0 }
                do {
                    let same = unchanged(all, stem)
                    try AtomicFile.write(all, to: (out as NSString).appendingPathComponent(stem + ".bin"))
                    if !same {
                        let grid = Grid.compose(classes, tileWidth: d.outputSide, tileHeight: d.outputSide, gap: 2, scale: 3)
                        try AtomicFile.write(PNG.encode(grid), to: (out as NSString).appendingPathComponent(stem + ".png"))
                    }
                } catch { fail("\(error)") }
            }
            do {
                let same = unchanged(u8, "trainer-int8-seed\(seed)")
                try AtomicFile.write(u8, to: (out as NSString).appendingPathComponent("trainer-int8-seed\(seed).bin"))
                if !same {
                    let grid = Grid.compose(images, tileWidth: d.outputSide, tileHeight: d.outputSide, gap: 2, scale: 3)
                    try AtomicFile.write(PNG.encode(grid), to: (out as NSString).appendingPathComponent("trainer-int8-seed\(seed).png"))
                }
            } catch { fail("\(error)") }
        }
        do { try AtomicFile.write(Array(digests.utf8), to: (out as NSString).appendingPathComponent("digests-int8.txt")) } catch { fail("\(error)") }
        print("vae-train: int8 goldens (trainer-int8-seed*.bin, digests-int8.txt) for seeds \(seeds.map(String.init).joined(separator: ", ")) written to \(out)")
    }
}

struct ByteBuffer {
    var bytes: [UInt8] = []
    mutating func append(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
}
