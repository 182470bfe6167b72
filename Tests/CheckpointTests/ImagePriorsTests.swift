import XCTest
@testable import Checkpoint
import VAEDecoder

/// Class priors in the decoder image (docs/checkpoint-format.md section 2.2): what the writer
/// attaches the runtime reads back bit for bit, draws the same digits the checkpoint's `PRIO`
/// section gives through the documented formula, leaves plain sampling unchanged, and every
/// damaged field is refused with its code.
final class ImagePriorsTests: XCTestCase {
    static let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("checkpoints/vae-mnist.vaeckpt").path
    static let priors = try! CheckpointReader.readClassPriors(checkpoint)
    static let float32 = try! CheckpointReader.readDecoderImage(checkpoint).image
    static let int8 = try! CheckpointReader.readDecoderImage(checkpoint, precision: .int8).image

    func load(_ bytes: [UInt8]) throws(DecoderError) -> LoadedDecoder { try LoadedDecoder(image: bytes) }

    func testAttachedPriorsReadBackBitForBit() throws {
        let p = Self.priors
        XCTAssertEqual(p.kind, .full)
        for base in [Self.float32, Self.int8] {
            for q in [p, ImagePriors.diagonal(p)] {
                let img = ImagePriors.attach(q, to: base)
                XCTAssertEqual(img.count % 16, 0)
                let rt = try load(img)
                XCTAssertEqual(rt.model.classCount, q.classes)
                XCTAssertEqual(rt.model.classFull, q.kind == .full)
                for c in 0..<q.classes {
                    let m = UnsafeBufferPointer(start: rt.model.classMean(c), count: q.latent)
                    let s = UnsafeBufferPointer(start: rt.model.classScale(c), count: q.scales[c].count)
                    XCTAssertEqual(m.map(\.bitPattern), q.means[c].map(\.bitPattern), "class \(c) mean")
                    XCTAssertEqual(s.map(\.bitPattern), q.scales[c].map(\.bitPattern), "class \(c) scale")
                }
            }
        }
    }

    /// The image's class digits are `ClassLatent.fill` over the checkpoint's PRIO arrays, then the
    /// plain image's decode; its unconditional digits are the plain image's, bit for bit.
    func testDigitsEqualTheCheckpointPath() throws {
        let p = Self.priors
        for base in [Self.float32, Self.int8] {
            let plain = try load(base), with = try load(ImagePriors.attach(p, to: base))
            let n = plain.model.pixelCount
            var a = [UInt8](repeating: 0, count: n), b = a
            var z = [Float](repeating: 0, count: p.latent)
            for (c, i) in [(7, UInt64(0)), (0, 3), (9, 99), (5, 12_345)] {
                ClassLatent.fill(seed: 42, image: i, latent: p.latent, mean: p.means[c], scale: p.scales[c], full: true, into: &z)
                plain.decoder.decode(latent: z, pixels: &a)
                try with.decoder.generate(seed: 42, index: i, classIndex: c, latentScratch: with.latent, pixels: &b)
                XCTAssertEqual(a, b, "class \(c) image \(i)")
                var z2 = [Float](repeating: 0, count: p.latent)
                try with.decoder.classLatent(seed: 42, index: i, classIndex: c, into: &z2)
                XCTAssertEqual(z.map(\.bitPattern), z2.map(\.bitPattern))
                plain.generate(seed: 2026, index: i, pixels: &a)
                with.generate(seed: 2026, index: i, pixels: &b)
                XCTAssertEqual(a, b, "unconditional image \(i)")
            }
            XCTAssertThrowsError(try with.decoder.generate(seed: 1, index: 0, classIndex: 10, latentScratch: with.latent, pixels: &b)) {
                XCTAssertEqual($0 as? DecoderError, .noSuchClass)
            }
            XCTAssertThrowsError(try plain.decoder.generate(seed: 1, index: 0, classIndex: 0, latentScratch: plain.latent, pixels: &a)) {
                XCTAssertEqual($0 as? DecoderError, .noSuchClass)
            }
        }
    }

    /// `--priors diagonal`: the square root of the covariance's diagonal, summed in Double.
    func testDiagonalIsTheCovarianceDiagonal() {
        let p = Self.priors, d = ImagePriors.diagonal(p)
        XCTAssertEqual(d.kind, .diagonal)
        XCTAssertEqual(d.means, p.means)
        for c in [0, 4, 9] {
            for j in [0, 1, 31, 63] {
                var sum = 0.0
                for k in 0...j { let v = Double(p.scales[c][j * (j + 1) / 2 + k]); sum += v * v }
                XCTAssertEqual(d.scales[c][j].bitPattern, Float(sum.squareRoot()).bitPattern)
            }
        }
        XCTAssertEqual(ImagePriors.attach(d, to: Self.float32).count, 108_816)
        XCTAssertEqual(ImagePriors.attach(p, to: Self.float32).count, 189_456)
    }

    // MARK: - refusals

    /// A small image with diagonal priors of two classes, and where its fields are.
    struct Small {
        var bytes: [UInt8]
        var ext: Int        // the extension record
        var block: Int      // the priors block
    }

    func small() -> Small {
        let d = 64
        let q = ClassPriors(kind: .diagonal, latent: d, counts: [3, 4], means: [[Float](repeating: 0.25, count: d), [Float](repeating: -1, count: d)],
                            scales: [[Float](repeating: 0.5, count: d), [Float](repeating: 2, count: d)])
        let img = ImagePriors.attach(q, to: Self.float32)
        let ext = DecoderImageLayout.headerBytes + 6 * DecoderImageLayout.layerRecordBytes
        return Small(bytes: img, ext: ext, block: u32(img, ext))
    }

    func u32(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }

    /// `bytes` with u32 `v` at `at`, CRC re-signed (as a writer bug would sign it): what loads.
    func status(_ s: Small, _ at: Int, _ v: UInt32) -> DecoderError? {
        var b = s.bytes
        withUnsafeBytes(of: v.littleEndian) { b.replaceSubrange(at..<(at + 4), with: $0) }
        let crc = Zlib.crc32(b[DecoderImageLayout.Header.crcStart...])
        withUnsafeBytes(of: crc.littleEndian) { b.replaceSubrange(12..<16, with: $0) }
        do { _ = try load(b); return nil } catch { return error }
    }

    func testDamagedPriorsAreRefusedWithTheirCodes() {
        typealias P = DecoderImageLayout.Priors
        let s = small()
        XCTAssertNil(status(s, s.block + P.version, 1), "the untouched image loads")
        let d = 64, rec = 4 + 8 * d
        let firstMean = s.block + 32 + 4, firstScale = firstMean + 4 * d
        let cases: [(String, Int, UInt32, DecoderError)] = [
            ("block length 16", s.block + P.blockLength, 16, .badClassPriors),
            ("block length 34 (floats misaligned)", s.block + P.blockLength, 34, .badClassPriors),
            ("block length past the length", s.block + P.blockLength, 4096, .badClassPriors),
            ("version 2", s.block + P.version, 2, .badClassPriors),
            ("class count 0", s.block + P.classCount, 0, .badClassPriors),
            ("class count 257", s.block + P.classCount, 257, .badClassPriors),
            ("class count 3 (length disagrees)", s.block + P.classCount, 3, .badClassPriors),
            ("latent 63", s.block + P.latent, 63, .badClassPriors),
            ("kind 3", s.block + P.kind, 3, .badClassPriors),
            ("kind 2 (length disagrees)", s.block + P.kind, 2, .badClassPriors),
            ("NaN mean", firstMean + 8, 0x7FC0_0000, .badClassPriors),
            ("infinite scale", firstScale + rec + 4, 0x7F80_0000, .badClassPriors),
            ("zero scale", firstScale, 0, .badClassPriors),
            ("negative scale", firstScale + 4 * 63, 0xBF80_0000, .badClassPriors),
            ("length one short", s.ext + DecoderImageLayout.Extension.priorsLength, UInt32(32 + 2 * rec - 1), .badClassPriors),
            ("length past the image", s.ext + DecoderImageLayout.Extension.priorsLength, UInt32(s.bytes.count), .badTensorOffset),
            ("offset not a multiple of 16", s.ext + DecoderImageLayout.Extension.priorsOffset, UInt32(s.block - 4), .misaligned),
            ("offset over the first layer's weights", s.ext + DecoderImageLayout.Extension.priorsOffset,
             UInt32(u32(s.bytes, DecoderImageLayout.headerBytes + DecoderImageLayout.Layer.weightOffset)), .badTensorOffset),
            ("offset into the records", s.ext + DecoderImageLayout.Extension.priorsOffset, 64, .badTensorOffset),
            ("offset 0 with a length", s.ext + DecoderImageLayout.Extension.priorsOffset, 0, .badTensorOffset),
        ]
        for (what, at, v, want) in cases { XCTAssertEqual(status(s, at, v), want, what) }
        // No priors: offset and length both 0 is a plain image.
        var none = s
        none.bytes.replaceSubrange(s.ext..<(s.ext + 8), with: [UInt8](repeating: 0, count: 8))
        XCTAssertNil(status(none, s.block + P.version, 1))
    }

    /// The minor version is outside the CRC: a reader that takes minor 2 for 1 (or a runtime older
    /// than minor 2) sees the same decoder and no priors.
    func testAnOlderMinorReadsTheSameDecoderWithoutPriors() throws {
        var img = ImagePriors.attach(Self.priors, to: Self.int8)
        img[DecoderImageLayout.Header.minor] = 1
        let old = try load(img), plain = try load(Self.int8)
        XCTAssertEqual(old.model.classCount, 0)
        var a = [UInt8](repeating: 0, count: 784), b = a
        for i in 0..<4 { old.generate(seed: 42, index: UInt64(i), pixels: &a); plain.generate(seed: 42, index: UInt64(i), pixels: &b); XCTAssertEqual(a, b) }
    }
}
