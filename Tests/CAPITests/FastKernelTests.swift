// The register-blocked scalar kernel that Cortex-M builds run (Sources/VAEDecoder/
// ConvTransposeFast.swift, generated) must give the bits of the readable reference kernel (on
// the host, convTransposeReference is the readable loop): for every shape it covers, any channel
// counts, every activation, and the shipped decoder's real layers.
import Checkpoint
import XCTest
@testable import VAEDecoder

final class FastKernelTests: XCTestCase {
    /// Deterministic values in [-1, 1), with exact zeros and negative zeros mixed in.
    struct Values {
        var s: UInt64
        mutating func next() -> Float {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            let r = Int(truncatingIfNeeded: s >> 40) % 64
            if r == 0 { return 0 }
            if r == 1 { return -0.0 }
            return Float(Int32(truncatingIfNeeded: s >> 33)) / Float(1 << 30) / 2
        }
    }

    func same(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int, _ what: String) {
        var bad = 0
        for i in 0..<n where a[i].bitPattern != b[i].bitPattern { bad += 1 }
        XCTAssertEqual(bad, 0, "\(what): \(bad) of \(n) outputs differ in their bits")
    }

    func testEveryCoveredShapeMatchesTheReferenceBitForBit() {
        var v = Values(s: 2026)
        let shapes = (0..<fastKernelShapeCount).map { fastKernelShape($0) }
        XCTAssertGreaterThan(shapes.count, 0)
        let acts: [Activation] = [.none, .relu, .leakyReLU, .sigmoid]
        for (k, side) in shapes {
            for (inC, outC) in [(1, 1), (3, 2), (2, 5)] {
                for act in acts {
                    let os = side + k - 1
                    let w = UnsafeMutablePointer<Float>.allocate(capacity: inC * outC * k * k)
                    let b = UnsafeMutablePointer<Float>.allocate(capacity: outC)
                    let x = UnsafeMutablePointer<Float>.allocate(capacity: inC * side * side)
                    let y1 = UnsafeMutablePointer<Float>.allocate(capacity: outC * os * os)
                    let y2 = UnsafeMutablePointer<Float>.allocate(capacity: outC * os * os)
                    defer { w.deallocate(); b.deallocate(); x.deallocate(); y1.deallocate(); y2.deallocate() }
                    for i in 0..<(inC * outC * k * k) { w[i] = v.next() }
                    for i in 0..<outC { b[i] = v.next() }
                    for i in 0..<(inC * side * side) { x[i] = v.next() * 3 }
                    var l = DecoderLayer()
                    l.inChannels = inC; l.outChannels = outC; l.kernel = k; l.inSide = side
                    l.activation = act; l.slope = 0.01
                    l.weights = UnsafePointer(w); l.bias = UnsafePointer(b)
                    XCTAssertTrue(convTransposeFast(l, input: x, output: y1), "no fast kernel for k \(k) side \(side)")
                    convTransposeReference(l, input: x, output: y2)
                    same(y1, y2, outC * os * os, "k \(k) side \(side) in \(inC) out \(outC) \(act)")
                }
            }
        }
    }

    func testOtherShapesAreLeftToTheReference() {
        var l = DecoderLayer()
        l.inChannels = 1; l.outChannels = 1; l.kernel = 4; l.inSide = 5
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { buf.deallocate() }
        XCTAssertFalse(convTransposeFast(l, input: buf, output: buf))
    }

    /// The shipped decoder, layer by layer, on seeded latents: every intermediate activation.
    func testShippedDecoderLayersMatchTheReference() throws {
        let bytes = try CheckpointReader.readDecoderImage(Repo.checkpoint).image
        let img = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        defer { img.deallocate() }
        img.copyBytes(from: bytes)
        let m = try DecoderModel(image: UnsafeRawBufferPointer(img))
        let n = max(m.maxActivation, m.latent)
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n), r = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let f = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { a.deallocate(); r.deallocate(); f.deallocate() }
        for index in 0..<4 {
            LatentGenerator.fill(seed: 42, image: UInt64(index), latent: m.latent, into: a)
            for i in 0..<m.layerCount {
                let l = m.layers[i]
                XCTAssertTrue(convTransposeFast(l, input: a, output: f), "layer \(i) has no fast kernel")
                convTransposeReference(l, input: a, output: r)
                same(f, r, l.outputCount, "image \(index) layer \(i)")
                a.update(from: r, count: l.outputCount)
            }
        }
    }
}
