// The targets' blocked int8 kernel (Sources/VAEDecoder/ConvTransposeInt8Fast.swift, generated;
// on the host it runs with the plain-arithmetic form of SMLAD) must give the sums
// of the plain definition for every shape it covers, any channel counts and the extreme values,
// and whole decoders through it must give the reference kernel's bytes.
import Checkpoint
import Foundation
import XCTest
@testable import VAEDecoder

final class Int8FastKernelTests: XCTestCase {
    struct Rand {
        var s: UInt64
        mutating func next(_ n: Int) -> Int { s = s &* 6364136223846793005 &+ 1442695040888963407; return Int(s >> 33) % n }
    }

    /// Every (kernel, side) the generator covers (it lists them once; this finds them).
    var shapes: [(Int, Int)] {
        var s: [(Int, Int)] = []
        for k in 1...Capacity.maxKernel { for side in 1...Capacity.maxSide where int8FastShape(k, side) { s.append((k, side)) } }
        return s
    }

    func testEveryCoveredShapeGivesThePlainSums() {
        XCTAssertGreaterThanOrEqual(shapes.count, 6)
        var r = Rand(s: 7)
        for (k, side) in shapes {
            let os = side + k - 1
            // Random values, then the extremes: every weight -128 or 127 and every input +-32767,
            // which exercise the sign extension of both halves of every word.
            for trial in 0..<4 {
                let inC = 1 + r.next(4), outC = 1 + r.next(3)
                let w: [Int8] = (0..<(inC * outC * k * k)).map { _ in
                    trial == 3 ? (r.next(2) == 0 ? -128 : 127) : Int8(truncatingIfNeeded: r.next(256) - 128) }
                let x: [Int16] = (0..<(inC * side * side)).map { _ in
                    trial >= 2 ? (r.next(2) == 0 ? -32767 : 32767) : Int16(truncatingIfNeeded: r.next(65535) - 32767) }
                // The kernel reads channel pairs, then an odd last channel alone (Int8PairLayout).
                var xd = [Int16](repeating: 0x5555, count: x.count)
                for c in 0..<inC { for i in 0..<(side * side) {
                    xd[Int8PairLayout.index(c, i, channels: inC, plane: side * side).at] = x[c * side * side + i]
                } }
                // The weights sit one byte into a buffer, as no tensor starts at an image's offset 0
                // (the kernel may read the byte before a kernel row).
                let wbuf: [Int8] = [0x55] + w + [0x55, 0x55, 0x55]
                for oc in 0..<outC {
                    let bias = Int32(truncatingIfNeeded: r.next(2_000_001) - 1_000_000)
                    for oy in 0..<os {
                        var got = [Int32](repeating: 0x7eadbeef, count: os)
                        var odd = [UInt32](repeating: 0xdeadbeef, count: Capacity.maxSide)
                        xd.withUnsafeBytes { xp in wbuf.withUnsafeBufferPointer { wp in
                            int8FastRow(k, side, xp.baseAddress!, wp.baseAddress! + 1, inC, outC, oc, oy, bias, &got, &odd)
                        } }
                        var bad = 0
                        for ox in 0..<os {
                            var want = bias
                            for c in 0..<inC { for iy in 0..<side { for ix in 0..<side {
                                let ky = oy - iy, kx = ox - ix
                                guard ky >= 0, ky < k, kx >= 0, kx < k else { continue }
                                want &+= Int32(w[((c * outC + oc) * k + ky) * k + kx]) &* Int32(x[(c * side + iy) * side + ix])
                            } } }
                            if got[ox] != want { bad += 1 }
                        }
                        XCTAssertEqual(bad, 0, "k \(k) side \(side) inC \(inC) outC \(outC) oc \(oc) oy \(oy) trial \(trial)")
                    }
                }
            }
        }
    }

    /// A random image with the shipped decoder's shapes and int16 tensors: the blocked path takes
    /// it whole (channel pairs in between, odd channel counts among them) and gives the reference
    /// kernel's bytes.
    func testWholeDecodersThroughTheBlockedPathGiveTheReferenceBytes() throws {
        let ks = [9, 7, 5, 5, 3, 3], chans = [16, 5, 4, 3, 3, 2, 1]
        for seed in [UInt64(3), 4] {
            var layers: [Int8TestImage.Layer] = []
            for (i, k) in ks.enumerated() {
                let last = i == ks.count - 1
                layers.append(.init(inC: chans[i], outC: chans[i + 1], k: k, act: last ? .sigmoid : (i % 2 == 0 ? .leakyReLU : .relu),
                                    width: last ? 0 : 2, zp: 0, qmin: -8000, qmax: 8000))
            }
            var spec = Int8TestImage(layers: layers)
            spec.viewC = 16; spec.seed = seed; spec.latentQmax = 8000   // within the accumulator bound
            let bytes = spec.bytes()
            let ref = try LoadedDecoder(image: bytes, path: .reference)
            XCTAssertTrue(KernelPath.int8Blocked(ref.model), "the shipped shapes, all int16: the blocked kernel must take it")
            let blocked = try LoadedDecoder(image: bytes, path: .blocked)
            var distinct = Set<UInt8>()
            for i in 0..<12 {
                var z = [Float](repeating: 0, count: ref.model.latent)
                z.withUnsafeMutableBufferPointer { LatentGenerator.fill(seed: seed, image: UInt64(i), latent: 64, into: $0.baseAddress!) }
                var a = [UInt8](repeating: 0, count: ref.model.pixelCount), b = a
                z.withUnsafeBufferPointer { ref.decoder.decode(latent: $0.baseAddress!, pixels: &a) }
                z.withUnsafeBufferPointer { blocked.decoder.decode(latent: $0.baseAddress!, pixels: &b) }
                XCTAssertEqual(a.count, 784)
                XCTAssertEqual(a, b, "seed \(seed) image \(i)")
                distinct.formUnion(a)
            }
            XCTAssertGreaterThan(distinct.count, 8, "the random decoder must not write constants")
        }
    }

    func testTheShippedInt16DecoderIsBlockedAndTheInt8ActivationOneIsNot() throws {
        let shipped = try LoadedDecoder(image: CheckpointReader.readDecoderImage(Repo.checkpoint, precision: .int8).image, path: .blocked)
        XCTAssertTrue(KernelPath.int8Blocked(shipped.model))
        let qat = try Data(contentsOf: URL(fileURLWithPath: Repo.path("checkpoints/vae-mnist-int8-qat.vaed"))).map { $0 }
        let q = try LoadedDecoder(image: qat, path: .blocked)
        XCTAssertEqual(q.model.precision, .int8)
        XCTAssertFalse(KernelPath.int8Blocked(q.model), "int8 activations: the reference kernel runs it")
    }
}
