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
        abstract: "Time the float32 decoder on one thread: microseconds per image at batch 1 and batch 100.",
        discussion: "The decoder is 1.486 M multiply-adds per image; GFLOP/s counts 2 FLOPs per multiply-add.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Repetitions of each measurement (the median is reported).")
    var repeats = 7

    @Option(help: "Images per repetition at batch 1.")
    var images = 2000

    func run() throws {
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
                layerLines.append(cformat("  layer %d: %2d->%2d k%d %2dx%-2d -> %2dx%-2d  %7.2f us  %6.1f GFLOP/s", i, l.inChannels, l.outChannels,
                                         l.kernel, l.inSide, l.inSide, l.outSide, l.outSide, us, 2 * Double(lm) / (us * 1e3)))
                a.update(from: b, count: l.outputCount)
            }
        }
        print(cformat("decoder: %d layers, %.3f M multiply-adds per image, float32, ", m.layerCount, Double(macs) / 1e6)
              + "\(rt.decoder.path.name) kernels, 1 thread")
        print(cformat("batch 1:   %7.2f us/image  (%.1f GFLOP/s)", b1, 2 * Double(macs) / (b1 * 1e3)))
        print(cformat("batch 100: %7.2f us/image  (%.1f GFLOP/s)  one image at a time", b100, 2 * Double(macs) / (b100 * 1e3)))
        print(cformat("batch 100: %7.2f us/image  (%.1f GFLOP/s)  16-lane batch decoder", b100lanes, 2 * Double(macs) / (b100lanes * 1e3)))
        print(cformat("latent generation: %.2f us/image", gen))
        print("memory: decoder image \(rt.image.count) bytes (read in place), arena \(rt.arena.count) bytes, " +
              "decoder struct \(MemoryLayout<Decoder>.size) bytes; batch decoder arena \(BatchDecoder.arenaBytes(for: m)) bytes")
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
