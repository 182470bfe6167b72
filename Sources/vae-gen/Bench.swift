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

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the decoder on one thread: µs per image (batch 1, 100), per layer.",
        discussion: """
        The shipped decoder is 1.486 M multiply-adds per image; GFLOP/s (GOP/s
        for int8) counts 2 operations per multiply-add. --compare times float32
        and int8 from the same checkpoint against each other, alternating, and
        prints the ratio.

        Examples:
          vae-gen bench                   float32, the fastest kernels this CPU has
          vae-gen bench --precision int8  the quantised decoder
          vae-gen bench --compare         float32 and int8, batch 1, alternated
          VAE_KERNELS=avx2 vae-gen bench  as on a CPU without AVX-512
        """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Repetitions of each measurement (the median is reported).")
    var repeats = 7

    @Option(help: "Images per repetition at batch 1.")
    var images = 2000

    @Flag(help: "Time float32 against int8 (batch 1, alternated --repeats times) and print the ratio.")
    var compare = false

    func validate() throws {
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be between 1 and 1000 (got \(repeats))") }
        guard (1...10_000_000).contains(images) else { throw ValidationError("--images must be between 1 and 10000000 (got \(images))") }
    }

    /// float32 and int8 of one checkpoint, batch 1, one after the other `repeats` times.
    func runCompare() {
        var f = model; f.precision = .float32
        var q = model; q.precision = .int8
        let rf = f.load(), rq = q.load()
        let lat = UnsafeMutablePointer<Float>.allocate(capacity: rf.model.latent)
        defer { lat.deallocate() }
        LatentGenerator.fill(seed: 1, image: 0, latent: rf.model.latent, into: lat)
        let px = UnsafeMutablePointer<UInt8>.allocate(capacity: rf.model.pixelCount)
        defer { px.deallocate() }
        func time(_ rt: LoadedDecoder) -> Double {
            let t = monotonicNanoseconds()
            for _ in 0..<images { rt.decoder.decode(latent: lat, pixels: px) }
            return Double(monotonicNanoseconds() - t) / 1e3 / Double(images)
        }
        var tf: [Double] = [], tq: [Double] = [], ratios: [Double] = []
        for _ in 0..<repeats {
            let a = time(rf), b = time(rq)
            tf.append(a); tq.append(b); ratios.append(a / b)
        }
        func med(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
        print("batch 1, 1 thread, \(repeats) alternated runs of \(images) images (medians):")
        print(cformat("  float32: %7.2f us/image  ", med(tf)) + "\(rf.decoder.path.name(for: .float32)) kernels")
        print(cformat("  int8:    %7.2f us/image  ", med(tq)) + "\(rq.decoder.path.name) kernels")
        print(cformat("  int8 is %.2fx faster (median of the per-run ratios)", med(ratios)))
    }

    func run() throws {
        if compare { runCompare(); return }
        let rt = model.load()
        let m = rt.model
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
        func now() -> UInt64 { monotonicNanoseconds() }
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
        // Batch 100 through the 16-lane batch decoder (7 calls: 6 x 16 + 4); float32 only.
        let bm = m.precision == .float32 ? try! BatchRuntime(rt) : nil
        let b100lanes = bm == nil ? 0 : median {
            let bm = bm!
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
            // Raw buffers: floats for a float32 image, each layer's integer tensor for int8.
            let a = UnsafeMutableRawPointer.allocate(byteCount: 4 * Capacity.maxActivation, alignment: 64)
            let b = UnsafeMutableRawPointer.allocate(byteCount: 4 * Capacity.maxActivation, alignment: 64)
            defer { a.deallocate(); b.deallocate() }
            if m.precision == .int8 { rt.decoder.quantiseLatent(latents, into: a.assumingMemoryBound(to: Int16.self)) }
            else { a.copyMemory(from: latents, byteCount: 4 * m.latent) }
            for i in 0..<m.layerCount {
                let l = m.layers[i]
                let lm = l.inChannels * l.inSide * l.inSide * l.outChannels * l.kernel * l.kernel
                let us = median {
                    let t = now()
                    for _ in 0..<images { rt.decoder.runLayer(i, input: a, output: b) }
                    return Double(now() - t) / 1e3 / Double(images)
                }
                layerLines.append(cformat("  layer %d: %2d->%2d k%d %2dx%-2d -> %2dx%-2d  %7.2f us  %6.1f GFLOP/s", i, l.inChannels, l.outChannels,
                                         l.kernel, l.inSide, l.inSide, l.outSide, l.outSide, us, 2 * Double(lm) / (us * 1e3)))
                a.copyMemory(from: b, byteCount: l.outputCount * (m.precision == .int8 ? max(l.output.width, 1) : 4))
            }
        }
        let ops = m.precision == .int8 ? "GOP/s" : "GFLOP/s"
        print(cformat("decoder: %d layers, %.3f M multiply-adds per image, ", m.layerCount, Double(macs) / 1e6)
              + "\(m.precision.name), \(rt.decoder.path.name(for: m.precision)) kernels, 1 thread")
        print(cformat("batch 1:   %7.2f us/image  (%.1f ", b1, 2 * Double(macs) / (b1 * 1e3)) + ops + ")")
        print(cformat("batch 100: %7.2f us/image  (%.1f ", b100, 2 * Double(macs) / (b100 * 1e3)) + ops + ")  one image at a time")
        if bm != nil {
            print(cformat("batch 100: %7.2f us/image  (%.1f ", b100lanes, 2 * Double(macs) / (b100lanes * 1e3)) + ops + ")  16-lane batch decoder")
        }
        print(cformat("latent generation: %.2f us/image", gen))
        print("memory: decoder image \(rt.image.count) bytes (read in place), arena \(rt.arena.count) bytes, " +
              "decoder struct \(MemoryLayout<Decoder>.size) bytes" + (bm == nil ? "" : "; batch decoder arena \(BatchDecoder.arenaBytes(for: m)) bytes"))
        print("per layer (batch 1):")
        for l in layerLines { print(l) }
    }
}

/// The 16-lane batch decoder over a loaded runtime's image, with its own arena (for bench).
final class BatchRuntime {
    let arena: UnsafeMutableRawBufferPointer
    let batch: BatchDecoder
    init(_ rt: LoadedDecoder) throws {
        let m = rt.model
        let path = rt.decoder.path.rawValue >= 0 ? rt.decoder.path : KernelPath.automatic
        arena = .allocate(byteCount: BatchDecoder.arenaBytes(for: m), alignment: 64)
        batch = try BatchDecoder(model: m, arena: arena, path: path)
    }
    deinit { arena.deallocate() }
}
