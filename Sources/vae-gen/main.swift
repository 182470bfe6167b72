import ArgumentParser
import Checkpoint
import Foundation
import ImageIO
import VAEDecoder

@main
struct VAEGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae-gen",
        abstract: "Turn seeded random vectors into digits with the decoder runtime.",
        discussion: """
        Image i of --seed S is decoded from a latent vector that is a pure
        function of (S, i) (docs/latent-generator.md), by the same runtime that
        runs on microcontrollers: every machine prints the same SHA-256 for the
        same seed, count and checkpoint.

        Examples:
          vae-gen --seed 42 -n 100            a 10x10 grid in vae-gen-out/grid.png
          vae-gen --seed 7 -n 16 --each png   also one PNG per digit
          vae-gen export-decoder --out d.vaed the decoder image for flash
          vae-gen bench                       microseconds per image

        The options of the default subcommand: vae-gen help generate
        """,
        subcommands: [Generate.self, ExportDecoder.self, Latent.self, Bench.self],
        defaultSubcommand: Generate.self)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("vae-gen: error: \(message)\n".utf8))
    exit(1)
}

enum Precision: String, ExpressibleByArgument, CaseIterable {
    case float32, int8
}

enum EachFormat: String, ExpressibleByArgument, CaseIterable {
    case none, png, pgm
}

struct ModelOptions: ParsableArguments {
    @Option(help: "Checkpoint to take the decoder from.")
    var checkpoint = "checkpoints/vae-mnist.vaeckpt"

    @Option(help: "A raw decoder image (from export-decoder) instead of a checkpoint.")
    var decoderImage: String?

    @Option(help: "Arithmetic of the decoder: float32 (int8 comes with the quantised decoder).")
    var precision: Precision = .float32

    /// The decoder image bytes, checked.
    func loadImage() -> [UInt8] {
        if precision == .int8 {
            fail("--precision int8 is not available yet (the quantised decoder is a later issue); use float32")
        }
        if let path = decoderImage {
            guard let d = FileManager.default.contents(atPath: path) else {
                fail("\(path): cannot read the decoder image (no such file?)")
            }
            return [UInt8](d)
        }
        do { return try CheckpointReader.readDecoderImage(checkpoint).image } catch let e as CheckpointError {
            if e.problem == "no such file" {
                fail("\(checkpoint): no such file; run from the repository root or pass --checkpoint")
            }
            fail("\(e)")
        } catch { fail("\(error)") }
    }
}

/// A loaded runtime: the image bytes, the model pointing into them, an arena. Everything is
/// allocated here, once; decoding allocates nothing.
final class Runtime {
    let image: UnsafeMutableRawBufferPointer
    let arena: UnsafeMutableRawBufferPointer
    let decoder: Decoder
    let latent: UnsafeMutablePointer<Float>

    init(bytes: [UInt8], source: String) {
        image = .allocate(byteCount: max(bytes.count, 1), alignment: 64)
        image.copyBytes(from: bytes)
        let model: DecoderModel
        do { model = try DecoderModel(image: UnsafeRawBufferPointer(rebasing: image[0..<bytes.count])) } catch {
            fail("\(source): \(error.message)")
        }
        arena = .allocate(byteCount: Decoder.arenaBytes(for: model), alignment: 64)
        do { decoder = try Decoder(model: model, arena: arena) } catch { fail("\(source): \(error.message)") }
        latent = .allocate(capacity: model.latent)
    }

    deinit { image.deallocate(); arena.deallocate(); latent.deallocate() }
}

extension DecoderError {
    var text: String { String(describing: message) }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate digits (the default subcommand).")

    @OptionGroup var model: ModelOptions

    @Option(help: "Seed of the latent vectors (0 ... 2^64-1).")
    var seed: UInt64 = 42

    @Option(name: .shortAndLong, help: "How many digits (1 ... 100000).")
    var n = 100

    @Option(help: "Index of the first digit (digits first ..< first+n of the seed).")
    var first: UInt64 = 0

    @Option(help: "Output folder for grid.png (and per-digit files).")
    var out = "vae-gen-out"

    @Option(help: "Also write each digit as its own file: none, png or pgm.")
    var each: EachFormat = .none

    @Option(help: "Grid upscaling factor (1 ... 8).")
    var scale = 2

    func validate() throws {
        guard (1...100_000).contains(n) else { throw ValidationError("-n must be between 1 and 100000 (got \(n))") }
        guard (1...8).contains(scale) else { throw ValidationError("--scale must be between 1 and 8 (got \(scale))") }
        guard first <= UInt64.max - UInt64(n) else { throw ValidationError("--first + -n overflows") }
    }

    func run() throws {
        let bytes = model.loadImage()
        let rt = Runtime(bytes: bytes, source: model.decoderImage ?? model.checkpoint)
        let m = rt.decoder.model
        let px = m.pixelCount
        var all = [UInt8](repeating: 0, count: n * px)
        let t0 = DispatchTime.now().uptimeNanoseconds
        all.withUnsafeMutableBufferPointer { buf in
            for i in 0..<n {
                rt.decoder.generate(seed: seed, index: first + UInt64(i), latentScratch: rt.latent, pixels: buf.baseAddress! + i * px)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let hex = SHA256.hex(of: all)

        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            fail("cannot create --out folder \(out): \(error.localizedDescription)")
        }
        let side = m.outputSide
        let tiles = (0..<n).map { Array(all[($0 * px)..<(($0 + 1) * px)]) }
        let grid = Grid.compose(tiles, tileWidth: side, tileHeight: side, gap: 2, scale: scale)
        let gridPath = (out as NSString).appendingPathComponent("grid.png")
        do {
            try AtomicFile.write(PNG.encode(grid), to: gridPath)
            if each != .none {
                for (i, t) in tiles.enumerated() {
                    let name = String(format: "digit-%llu-%06llu.%@", seed, first + UInt64(i), each.rawValue)
                    let path = (out as NSString).appendingPathComponent(name)
                    let data: [UInt8] = each == .png
                        ? PNG.encode(GrayImage(width: side, height: side, pixels: t))
                        : Array("P5\n\(side) \(side)\n255\n".utf8) + t
                    try AtomicFile.write(data, to: path)
                }
            }
        } catch { fail("\(error)") }
        let layout = Grid.layout(count: n)
        print("vae-gen: \(n) digits of seed \(seed) (from \(first)), \(model.precision.rawValue), in \(String(format: "%.2f", seconds * 1000)) ms; grid \(layout.columns)x\(layout.rows) -> \(gridPath)")
        print("sha256 \(hex)")
    }
}

struct ExportDecoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-decoder",
        abstract: "Write a checkpoint's decoder image (docs/checkpoint-format.md section 2) for flash or a C program.")

    @Option(help: "Checkpoint to read.")
    var checkpoint = "checkpoints/vae-mnist.vaeckpt"

    @Option(help: "Output file (.vaed for the raw image; .c or .h for a C array).")
    var out: String

    @Option(help: "C symbol name for the array, when writing .c/.h.")
    var symbol = "vae_decoder_image"

    func run() throws {
        let image: [UInt8]
        do { image = try CheckpointReader.readDecoderImage(checkpoint).image } catch { fail("\(error)") }
        var bytes = image
        if out.hasSuffix(".c") || out.hasSuffix(".h") {
            var s = "/* Decoder image v1 from \((checkpoint as NSString).lastPathComponent), \(image.count) bytes. Generated by vae-gen export-decoder; do not edit. */\n"
            s += "#include <stdint.h>\n#include <stddef.h>\n"
            s += "const size_t \(symbol)_len = \(image.count);\n"
            s += "__attribute__((aligned(16))) const uint8_t \(symbol)[\(image.count)] = {\n"
            for row in stride(from: 0, to: image.count, by: 16) {
                s += "  " + image[row..<min(row + 16, image.count)].map { String(format: "0x%02x,", $0) }.joined() + "\n"
            }
            s += "};\n"
            bytes = Array(s.utf8)
        }
        do { try AtomicFile.write(bytes, to: out) } catch { fail("\(error)") }
        print("vae-gen: wrote \(out) (decoder image \(image.count) bytes)")
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the float32 decoder on one thread: microseconds per image at batch 1 and batch 100.",
        discussion: "The decoder is 1.486 M multiply-adds per image; GFLOP/s counts 2 FLOPs per multiply-add.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Repetitions of each measurement (the median is reported).")
    var repeats = 7

    @Option(help: "Images per repetition at batch 1.")
    var images = 2000

    func run() throws {
        let rt = Runtime(bytes: model.loadImage(), source: model.decoderImage ?? model.checkpoint)
        let m = rt.decoder.model
        var macs = 0
        for i in 0..<m.layerCount {
            let l = m.layers[i]
            macs += l.inChannels * l.inSide * l.inSide * l.outChannels * l.kernel * l.kernel
        }
        let px = UnsafeMutablePointer<UInt8>.allocate(capacity: 100 * m.pixelCount)
        defer { px.deallocate() }
        let latents = UnsafeMutablePointer<Float>.allocate(capacity: 100 * m.latent)
        defer { latents.deallocate() }
        for i in 0..<100 { LatentGenerator.fill(seed: 1, image: UInt64(i), latent: m.latent, into: latents + i * m.latent) }
        func median(_ body: () -> Double) -> Double {
            let xs = (0..<repeats).map { _ in body() }.sorted()
            return xs[xs.count / 2]
        }
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        // Batch 1: one latent decoded again and again (latency of a single image).
        let b1 = median {
            let t = now()
            for _ in 0..<images { rt.decoder.decode(latent: latents, pixels: px) }
            return Double(now() - t) / 1e3 / Double(images)
        }
        // Batch 100: a hundred different latents per call sequence (throughput).
        let b100 = median {
            let t = now()
            let rounds = max(1, images / 100)
            for _ in 0..<rounds { for i in 0..<100 { rt.decoder.decode(latent: latents + i * m.latent, pixels: px + i * m.pixelCount) } }
            return Double(now() - t) / 1e3 / Double(rounds * 100)
        }
        // Batch 100 through the 16-lane batch decoder (7 calls: 6 x 16 + 4).
        let bm = try! BatchRuntime(rt)
        let b100lanes = median {
            let t = now()
            let rounds = max(1, images / 100)
            for _ in 0..<rounds {
                var i = 0
                while i < 100 {
                    let c = min(16, 100 - i)
                    bm.batch.decode(latents: latents + i * m.latent, count: c, pixels: px + i * m.pixelCount)
                    i += c
                }
            }
            return Double(now() - t) / 1e3 / Double(rounds * 100)
        }
        let gen = median {
            let t = now()
            for i in 0..<images { LatentGenerator.fill(seed: 42, image: UInt64(i), latent: m.latent, into: rt.latent) }
            return Double(now() - t) / 1e3 / Double(images)
        }
        // Per layer: each one timed alone on the activations the previous layer produced.
        var layerLines: [String] = []
        do {
            let a = UnsafeMutablePointer<Float>.allocate(capacity: 8192), b = UnsafeMutablePointer<Float>.allocate(capacity: 8192)
            defer { a.deallocate(); b.deallocate() }
            a.update(from: latents, count: m.latent)
            for i in 0..<m.layerCount {
                let l = m.layers[i]
                let lm = l.inChannels * l.inSide * l.inSide * l.outChannels * l.kernel * l.kernel
                let us = median {
                    let t = now()
                    for _ in 0..<images { rt.decoder.runLayer(i, input: a, output: b) }
                    return Double(now() - t) / 1e3 / Double(images)
                }
                layerLines.append(String(format: "  layer %d: %2d->%2d k%d %2dx%-2d -> %2dx%-2d  %7.2f us  %6.1f GFLOP/s", i, l.inChannels, l.outChannels,
                                         l.kernel, l.inSide, l.inSide, l.outSide, l.outSide, us, 2 * Double(lm) / (us * 1e3)))
                a.update(from: b, count: l.outputCount)
            }
        }
        let kernel = Decoder.usesVectorKernel ? "vector (SIMD16) kernel" : "reference kernel"
        print(String(format: "decoder: %d layers, %.3f M multiply-adds per image, float32, %@, 1 thread", m.layerCount, Double(macs) / 1e6, kernel))
        print(String(format: "batch 1:   %7.2f us/image  (%.1f GFLOP/s)", b1, 2 * Double(macs) / (b1 * 1e3)))
        print(String(format: "batch 100: %7.2f us/image  (%.1f GFLOP/s)  one image at a time", b100, 2 * Double(macs) / (b100 * 1e3)))
        print(String(format: "batch 100: %7.2f us/image  (%.1f GFLOP/s)  16-lane batch decoder", b100lanes, 2 * Double(macs) / (b100lanes * 1e3)))
        print(String(format: "latent generation: %.2f us/image", gen))
        print("memory: decoder image \(rt.image.count) bytes (read in place), arena \(Decoder.arenaBytes(for: m)) bytes, " +
              "decoder struct \(MemoryLayout<Decoder>.size) bytes; batch decoder arena \(BatchDecoder.arenaBytes(for: m)) bytes")
        print("per layer (batch 1):")
        for l in layerLines { print(l) }
    }
}

struct Latent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the latent vector of image --index of --seed (value and float32 bit pattern).",
        discussion: "The values are a pure function of (seed, index, dimension): docs/latent-generator.md.")

    @Option(help: "Seed.") var seed: UInt64 = 42
    @Option(help: "Image index.") var index: UInt64 = 0
    @Option(help: "Latent dimension.") var dim = 64

    func validate() throws {
        guard (1...4096).contains(dim) else { throw ValidationError("--dim must be between 1 and 4096 (got \(dim))") }
    }

    func run() {
        for j in 0..<dim {
            let z = LatentGenerator.component(seed: seed, image: index, index: j, latent: dim)
            print(String(format: "%3d  %+.8f  0x%08X", j, z, z.bitPattern))
        }
    }
}

/// The 16-lane batch decoder over a loaded runtime's image, with its own arena (for bench).
final class BatchRuntime {
    let arena: UnsafeMutableRawBufferPointer
    let batch: BatchDecoder
    init(_ rt: Runtime) throws {
        let m = rt.decoder.model
        arena = .allocate(byteCount: BatchDecoder.arenaBytes(for: m), alignment: 64)
        batch = try BatchDecoder(model: m, arena: arena)
    }
    deinit { arena.deallocate() }
}
