import ArgumentParser
import Checkpoint
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
import ImageIO
import VAEDecoder

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate digits (the default subcommand).")

    @OptionGroup var model: ModelOptions

    @Option(help: "Seed of the latent vectors (0 ... 2^64-1).")
    var seed: UInt64 = 42

    @Option(name: .shortAndLong, help: ArgumentHelp("How many digits (1 ... 100000).",
        discussion: "Memory: the decoded digits (784 bytes each, 78 MB at 100000) and one grid picture of at most 16 Mi pixels; more digits than one grid holds go to grid-0001.png, grid-0002.png, ..."))
    var n = 100

    @Option(help: "Index of the first digit (digits first ..< first+n of the seed).")
    var first: UInt64 = 0

    @Option(help: "Output folder for grid.png (and per-digit files).")
    var out = "vae-gen-out"

    @Option(help: "Also write each digit as its own file: none, png or pgm.")
    var each: EachFormat = .none

    @Option(help: "Grid upscaling factor (1 ... 8).")
    var scale = 2

    @Option(help: ArgumentHelp("Draw this digit (0 ... 9) from the class priors.",
        discussion: "Image i is mean + L e, e the latent of (seed, i) (docs/latent-generator.md, section 6). The priors come from vae-train fit-priors: the checkpoint's PRIO section, or a decoder image exported with --priors."))
    var digit: Int?

    @Option(help: "Decoding threads (default: the machine's cores; the digits do not depend on it).")
    var threads: Int?

    /// The largest grid picture vae-gen composes (16 Mi pixels, 16 MB in memory): `-n 100000
    /// --scale 8` would otherwise ask for a 5 GB picture.
    static let maxGridPixels = 16 << 20

    /// How many digits one grid of at most maxGridPixels holds.
    static func digitsPerGrid(side: Int, scale: Int, gap: Int) -> Int {
        func pixels(_ k: Int) -> Int {
            let (c, r) = Grid.layout(count: k)
            return (c * side * scale + (c + 1) * gap) * (r * side * scale + (r + 1) * gap)
        }
        let cell = (side * scale + gap) * (side * scale + gap)
        var k = max(1, maxGridPixels / cell)
        while k > 1 && pixels(k) > maxGridPixels { k = max(1, k * 19 / 20) }
        return min(k, 100_000)
    }

    func validate() throws {
        guard (1...100_000).contains(n) else { throw ValidationError("-n must be between 1 and 100000 (got \(n))") }
        guard !out.isEmpty else { throw ValidationError("--out must name a folder (got an empty string)") }
        guard (1...8).contains(scale) else { throw ValidationError("--scale must be between 1 and 8 (got \(scale))") }
        guard first <= UInt64.max - UInt64(n) else { throw ValidationError("--first + -n overflows") }
        if let d = digit, !(0...9).contains(d) { throw ValidationError("--digit must be between 0 and 9 (got \(d))") }
        if let t = threads, !(1...64).contains(t) { throw ValidationError("--threads must be between 1 and 64 (got \(t))") }
    }

    func run() throws {
        let rt = model.load(classPriors: digit != nil)
        let m = rt.model
        let px = m.pixelCount
        var all = [UInt8](repeating: 0, count: n * px)
        let t0 = monotonicNanoseconds()
        if let digit {
            all = ClassSampling.digits(rt, source: Path.shown(model.decoderImage ?? model.checkpoint), digit: digit, seed: seed, first: first, n: n)
        } else {
            all.withUnsafeMutableBufferPointer { buf in
                ParallelDecode.run(rt, seed: seed, first: first, n: n, threads: threads ?? ParallelDecode.cores, into: buf.baseAddress!)
            }
        }
        let seconds = Double(monotonicNanoseconds() - t0) / 1e9
        let hex = SHA256.hex(of: all)

        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            fail("cannot create --out folder \(out): \(error)")
        }
        let side = m.outputSide
        // Grids of at most maxGridPixels each: more digits than fit go to grid-0001.png,
        // grid-0002.png, ... (one grid in memory at a time).
        let perGrid = Generate.digitsPerGrid(side: side, scale: scale, gap: 2)
        let grids = (n + perGrid - 1) / perGrid
        var gridPath = Path.join(out, "grid.png")
        var gridSet = FileSet("grid pictures", total: grids)
        for g in 0..<grids {
            let start = g * perGrid, end = min(n, start + perGrid)
            let tiles = (start..<end).map { Array(all[($0 * px)..<(($0 + 1) * px)]) }
            let grid = Grid.compose(tiles, tileWidth: side, tileHeight: side, gap: 2, scale: scale)
            let path = grids == 1 ? gridPath : Path.join(out, cformat("grid-%04d.png", g + 1))
            gridSet.write(PNG.encode(grid), to: path)
            if g == 0 { gridPath = path }
        }
        if each != .none {
            var files = FileSet("per-digit \(each.rawValue.uppercased()) files", total: n)
            for i in 0..<n {
                let t = Array(all[(i * px)..<((i + 1) * px)])
                let name = cformat("digit-%llu-%06llu.", seed, first + UInt64(i)) + each.rawValue
                let data: [UInt8] = each == .png
                    ? PNG.encode(GrayImage(width: side, height: side, pixels: t))
                    : Array("P5\n\(side) \(side)\n255\n".utf8) + t
                files.write(data, to: Path.join(out, name))
            }
        }
        if grids > 1 {
            print("vae-gen: \(n) digits of seed \(seed) (from \(first)), \(rt.model.precision.name) (\(rt.decoder.path.name(for: rt.model.precision)) kernels), in \(cformat("%.2f", seconds * 1000)) ms; \(grids) grids of up to \(perGrid) digits (at most \(Generate.maxGridPixels) pixels each) -> \(Path.join(out, "grid-0001.png")) ... \(Path.join(out, cformat("grid-%04d.png", grids)))")
            print("sha256 \(hex)")
            return
        }
        let layout = Grid.layout(count: n)
        print("vae-gen: \(n) \(digit.map { "\($0)s" } ?? "digits") of seed \(seed) (from \(first)), \(rt.model.precision.name) (\(rt.decoder.path.name(for: rt.model.precision)) kernels), in \(cformat("%.2f", seconds * 1000)) ms; grid \(layout.columns)x\(layout.rows) -> \(gridPath)")
        print("sha256 \(hex)")
    }
}
