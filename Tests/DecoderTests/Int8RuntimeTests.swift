// The int8 runtime (docs/quantisation.md) on images built here from the spec's layout: every
// kernel path gives the reference kernel's bytes, the latent quantisation's rounding, and the
// loader's refusals (each field out of range, the accumulator bound).
import XCTest
@testable import VAEDecoder

/// A random but valid int8 image, written with DecoderImageLayout's names (the test's own
/// builder: the trainer's Int8ImageBuilder is the other one).
struct Int8TestImage {
    struct Layer { var inC, outC, k: Int; var act: Activation; var width: Int; var zp: Int32, qmin: Int32, qmax: Int32 }
    var layers: [Layer]
    var viewC = 4, viewSide = 2
    var latentInverseScale: Float = 4096, latentQmax: Int32 = 20000
    var seed: UInt64 = 1
    /// Applied to the finished bytes before the CRC (to make bad images).
    var patch: ((inout [UInt8], _ recordOffset: (Int) -> Int, _ tensorOffset: (Int, Int) -> Int) -> Void)? = nil

    func bytes() -> [UInt8] {
        typealias H = DecoderImageLayout.Header
        typealias R = DecoderImageLayout.Layer
        var s = seed
        func rnd(_ n: Int) -> Int { s = s &* 6364136223846793005 &+ 1442695040888963407; return Int(s >> 33) % n }
        let rec = DecoderImageLayout.layerRecordBytes(weightType: DecoderImageLayout.weightTypeInt8)
        var off = DecoderImageLayout.headerBytes + layers.count * rec
        var img = [UInt8](repeating: 0, count: off)
        func put32(_ v: UInt32, _ at: Int) { for b in 0..<4 { img[at + b] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(b))) } }
        func align() { while img.count % 16 != 0 { img.append(0) } }
        var tensorOffsets: [[Int]] = []
        var side = viewSide
        for (i, l) in layers.enumerated() {
            let r = DecoderImageLayout.headerBytes + i * rec
            let last = i == layers.count - 1
            align(); let w = img.count
            for _ in 0..<(l.inC * l.outC * l.k * l.k) { img.append(UInt8(bitPattern: Int8(rnd(201) - 100))) }
            align(); let b = img.count
            for _ in 0..<l.outC { let v = Int32(rnd(200_001) - 100_000); for j in 0..<4 { img.append(UInt8(truncatingIfNeeded: v >> (8 * Int32(j)))) } }
            align(); let q = img.count
            for _ in 0..<l.outC {
                if last {
                    var t = (0..<DecoderImageLayout.pixelThresholds).map { _ in Int32(rnd(4_000_001) - 2_000_000) }
                    t.sort()
                    for v in t { for j in 0..<4 { img.append(UInt8(truncatingIfNeeded: v >> (8 * Int32(j)))) } }
                } else {
                    let words: [Int32] = [Int32(1 << 30 + rnd(1 << 30)), Int32(36 + rnd(6)), Int32(rnd(1 << 30)), Int32(36 + rnd(6))]
                    for v in words { for j in 0..<4 { img.append(UInt8(truncatingIfNeeded: v >> (8 * Int32(j)))) } }
                }
            }
            tensorOffsets.append([w, b, q])
            put32(DecoderImageLayout.layerKindConvTranspose, r + R.kind)
            put32(UInt32(l.inC), r + R.inChannels); put32(UInt32(l.outC), r + R.outChannels)
            put32(UInt32(l.k), r + R.kernelH); put32(UInt32(l.k), r + R.kernelW)
            put32(1, r + R.stride); put32(0, r + R.padding)
            put32(l.act.rawValue, r + R.activation); put32(Float(0.01).bitPattern, r + R.slope)
            put32(UInt32(w), r + R.weightOffset); put32(UInt32(b), r + R.biasOffset); put32(UInt32(q), r + R.requantOffset)
            put32(UInt32(last ? 0 : l.width), r + R.outputWidth)
            put32(UInt32(bitPattern: last ? 0 : l.zp), r + R.outputZeroPoint)
            put32(UInt32(bitPattern: last ? 0 : l.qmin), r + R.outputQmin); put32(UInt32(bitPattern: last ? 0 : l.qmax), r + R.outputQmax)
            side += l.k - 1
        }
        off = img.count
        put32(DecoderImageLayout.magic, H.magic)
        img[H.major] = UInt8(DecoderImageLayout.major); img[H.minor] = UInt8(DecoderImageLayout.minorInt8)
        put32(UInt32(off), H.totalLength)
        put32(DecoderImageLayout.weightTypeInt8, H.weightType)
        put32(UInt32(viewC * viewSide * viewSide), H.latent)
        put32(UInt32(viewC), H.viewChannels); put32(UInt32(viewSide), H.viewHeight); put32(UInt32(viewSide), H.viewWidth)
        put32(UInt32(layers.count), H.layerCount)
        put32(UInt32(layers.last!.outC), H.outputChannels); put32(UInt32(side), H.outputHeight); put32(UInt32(side), H.outputWidth)
        put32(2, H.latentWidth); put32(latentInverseScale.bitPattern, H.latentInverseScale); put32(UInt32(latentQmax), H.latentQmax)
        patch?(&img, { DecoderImageLayout.headerBytes + $0 * rec }, { tensorOffsets[$0][$1] })
        let crc = img.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[H.crcStart...])) }
        put32(crc, H.crc)
        return img
    }

    static let standard = Int8TestImage(layers: [
        .init(inC: 4, outC: 6, k: 9, act: .leakyReLU, width: 2, zp: 0, qmin: -32767, qmax: 32767),      // 2 -> 10
        .init(inC: 6, outC: 5, k: 9, act: .relu, width: 1, zp: -20, qmin: -128, qmax: 127),            // 10 -> 18: two vectors
        .init(inC: 5, outC: 3, k: 3, act: .none, width: 2, zp: 0, qmin: -30000, qmax: 30000),          // 18 -> 20
        .init(inC: 3, outC: 2, k: 4, act: .sigmoid, width: 0, zp: 0, qmin: 0, qmax: 0),                // 20 -> 23 pixels
    ])
}

final class Int8RuntimeTests: XCTestCase {
    func latents(_ count: Int, _ dim: Int) -> [[Float]] {
        (0..<count).map { i in
            var z = [Float](repeating: 0, count: dim)
            z.withUnsafeMutableBufferPointer { LatentGenerator.fill(seed: 5, image: UInt64(i), latent: dim, into: $0.baseAddress!) }
            return z
        }
    }

    func testEveryPathGivesTheReferenceBytes() throws {
        for seed in [UInt64(1), 2, 3] {
            var spec = Int8TestImage.standard
            spec.seed = seed
            let bytes = spec.bytes()
            let ref = try LoadedDecoder(image: bytes, path: .reference)
            XCTAssertEqual(ref.model.precision, .int8)
            let lats = latents(24, ref.model.latent)
            var want = [[UInt8]]()
            for z in lats {
                var px = [UInt8](repeating: 0, count: ref.model.pixelCount)
                z.withUnsafeBufferPointer { ref.decoder.decode(latent: $0.baseAddress!, pixels: &px) }
                want.append(px)
            }
            // Not all one value: the test would pass for a decoder that writes constants.
            XCTAssertGreaterThan(Set(want.joined()).count, 8, "seed \(seed): the random image decodes to too few distinct pixels")
            for path in KernelPath.available where path != .reference {
                let d = try LoadedDecoder(image: bytes, path: path)
                XCTAssertEqual(lats.count, want.count)
                for (z, w) in zip(lats, want) {
                    var px = [UInt8](repeating: 0, count: d.model.pixelCount)
                    z.withUnsafeBufferPointer { d.decoder.decode(latent: $0.baseAddress!, pixels: &px) }
                    XCTAssertEqual(px, w, "\(path.name), image seed \(seed)")
                }
            }
        }
    }

    func testLatentQuantisationRoundsHalvesAwayFromZeroAndClamps() {
        let inv: Float = 1, q: Int32 = 100
        XCTAssertEqual(Int8Math.quantiseLatent(2.5, inverseScale: inv, qmax: q), 3)
        XCTAssertEqual(Int8Math.quantiseLatent(-2.5, inverseScale: inv, qmax: q), -3)
        XCTAssertEqual(Int8Math.quantiseLatent(2.4999998, inverseScale: inv, qmax: q), 2)
        XCTAssertEqual(Int8Math.quantiseLatent(0.49999997, inverseScale: inv, qmax: q), 0, "v + 0.5 would round up to 1")
        XCTAssertEqual(Int8Math.quantiseLatent(-0.49999997, inverseScale: inv, qmax: q), 0)
        XCTAssertEqual(Int8Math.quantiseLatent(1e9, inverseScale: inv, qmax: q), 100)
        XCTAssertEqual(Int8Math.quantiseLatent(-.infinity, inverseScale: inv, qmax: q), -100)
        XCTAssertEqual(Int8Math.quantiseLatent(.nan, inverseScale: inv, qmax: q), 0)
    }

    func testRequantisationRoundsHalfUpAndAppliesTheActivation() {
        var t = QuantTensor(); t.width = 1; t.zeroPoint = 3; t.qmin = -128; t.qmax = 127
        let words: [Int32] = [1 << 30, 31, 1 << 29, 31]   // x 0.5 for acc >= 0, x 0.25 below
        words.withUnsafeBufferPointer { w in
            XCTAssertEqual(Int8Math.requantise(5, w.baseAddress!, relu: false, t), 3 + 3)     // 2.5 -> 3 (half up)
            XCTAssertEqual(Int8Math.requantise(-6, w.baseAddress!, relu: false, t), 3 - 1)    // -1.5 -> -1 (half up)
            XCTAssertEqual(Int8Math.requantise(-6, w.baseAddress!, relu: true, t), 3)         // ReLU: 0
            XCTAssertEqual(Int8Math.requantise(1000, w.baseAddress!, relu: false, t), 127)    // clamp
        }
        let thresholds = (0..<255).map { Int32($0 * 10) }
        thresholds.withUnsafeBufferPointer { p in
            XCTAssertEqual(Int8Math.pixel(-1, p.baseAddress!), 0)
            XCTAssertEqual(Int8Math.pixel(0, p.baseAddress!), 1)
            XCTAssertEqual(Int8Math.pixel(9, p.baseAddress!), 1)
            XCTAssertEqual(Int8Math.pixel(10, p.baseAddress!), 2)
            XCTAssertEqual(Int8Math.pixel(2540, p.baseAddress!), 255)
        }
    }

    func refusal(_ expected: DecoderError, _ what: String, _ patch: @escaping (inout [UInt8], (Int) -> Int, (Int, Int) -> Int) -> Void,
                 file: StaticString = #filePath, line: UInt = #line) {
        var spec = Int8TestImage.standard
        spec.patch = patch
        XCTAssertThrowsError(try LoadedDecoder(image: spec.bytes()), what, file: file, line: line) {
            XCTAssertEqual($0 as? DecoderError, expected, what, file: file, line: line)
        }
    }

    func testTheLoaderRefusesBadQuantisation() throws {
        typealias R = DecoderImageLayout.Layer
        typealias H = DecoderImageLayout.Header
        XCTAssertNoThrow(try LoadedDecoder(image: Int8TestImage.standard.bytes()))
        func set(_ img: inout [UInt8], _ at: Int, _ v: Int32) { for b in 0..<4 { img[at + b] = UInt8(truncatingIfNeeded: v >> (8 * Int32(b))) } }
        refusal(.badQuantisation, "output width 3") { i, r, _ in set(&i, r(0) + R.outputWidth, 3) }
        refusal(.badQuantisation, "int8 zero point outside the range") { i, r, _ in set(&i, r(1) + R.outputZeroPoint, 127 + 1) }
        refusal(.badQuantisation, "int8 qmax 128") { i, r, _ in set(&i, r(1) + R.outputQmax, 128) }
        refusal(.badQuantisation, "int16 with a zero point") { i, r, _ in set(&i, r(0) + R.outputZeroPoint, 1) }
        refusal(.badQuantisation, "int16 qmin -32768") { i, r, _ in set(&i, r(0) + R.outputQmin, -32768) }
        refusal(.badQuantisation, "last layer with an output width") { i, r, _ in set(&i, r(3) + R.outputWidth, 1) }
        refusal(.badQuantisation, "M_pos 0") { i, _, t in set(&i, t(0, 2), 0) }
        refusal(.badQuantisation, "n_pos 63") { i, _, t in set(&i, t(0, 2) + 4, 63) }
        refusal(.badQuantisation, "n_neg 0") { i, _, t in set(&i, t(1, 2) + 12, 0) }
        refusal(.badQuantisation, "M_neg negative") { i, _, t in set(&i, t(2, 2) + 8, -1) }
        refusal(.badQuantisation, "decreasing thresholds") { i, _, t in set(&i, t(3, 2) + 4 * 100, Int32.max) }
        refusal(.badQuantisation, "latent width 1") { i, _, _ in set(&i, H.latentWidth, 1) }
        refusal(.badQuantisation, "latent inverse scale NaN") { i, _, _ in set(&i, H.latentInverseScale, Int32(bitPattern: Float.nan.bitPattern)) }
        refusal(.badQuantisation, "latent qmax 32768") { i, _, _ in set(&i, H.latentQmax, 32768) }
        refusal(.accumulatorBound, "bias near 2^31") { i, _, t in set(&i, t(1, 1), Int32.max - 1000) }
        refusal(.unsupportedLayer, "sigmoid before the last layer") { i, r, _ in set(&i, r(1) + R.activation, 3) }
        refusal(.unsupportedVersion, "int8 image of minor version 0") { i, _, _ in i[H.minor] = 0 }
        refusal(.badTensorOffset, "requantisation table past the end") { i, r, _ in set(&i, r(3) + R.requantOffset, Int32(i.count - 16)) }
    }

    func testTheAccumulatorBoundIsTheSpecs() throws {
        // Layer 1 (input int16, A = 32767, 6 x 81 taps): all weights 127 needs 2.0e9 + |bias|.
        var spec = Int8TestImage.standard
        spec.patch = { img, _, t in
            let w = t(1, 0)
            for j in 0..<(6 * 5 * 81) { img[w + j] = 127 }
            let b = t(1, 1)
            for oc in 0..<5 { for j in 0..<4 { img[b + 4 * oc + j] = 0 } }
        }
        XCTAssertNoThrow(try LoadedDecoder(image: spec.bytes()), "486 x 127 x 32767 = 2,022,311,814 fits")
        spec.patch = { img, _, t in
            let w = t(1, 0)
            for j in 0..<(6 * 5 * 81) { img[w + j] = 127 }
            let b = t(1, 1)
            // 2^31 - 1 - 2,022,311,814 = 125,171,833: one more does not fit.
            let v: Int32 = 125_171_834
            for j in 0..<4 { img[b + j] = UInt8(truncatingIfNeeded: v >> (8 * Int32(j))) }
        }
        XCTAssertThrowsError(try LoadedDecoder(image: spec.bytes())) { XCTAssertEqual($0 as? DecoderError, .accumulatorBound) }
    }
}
