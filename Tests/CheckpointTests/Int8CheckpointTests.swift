import Checkpoint
import Foundation
import VAEDecoder
import VAETrainer
import XCTest

/// The DEC8 section (docs/checkpoint-format.md 1.2) and the int8 image's bytes
/// (docs/quantisation.md section 2), checked here by reading the bytes directly.
final class Int8CheckpointTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "int8-ckpt-tests-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func state() -> TrainState {
        var s = TrainState(config: .standard, hyper: Hyper())
        s.history = [EpochRecord(epoch: 1, seconds: 2, trainRec: 150, trainKL: 10, valRec: 140, valKL: 11)]
        return s
    }

    func int8Image(_ s: TrainState, widths: [Int] = [2, 1, 2, 1, 2]) -> (Int8Decoder, [UInt8]) {
        let q = Quantiser(config: s.config, params: s.params)
        let e = q.export(ranges: q.calibrate(TrainerDecoder.seededLatents(seed: 3, count: 32, latent: 64)), widths: widths)
        return (e.decoder, Int8ImageBuilder.build(e.decoder))
    }

    // MARK: the image's bytes

    func u16(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
    func u32(_ b: [UInt8], _ o: Int) -> Int { (0..<4).reduce(0) { $0 | Int(b[o + $1]) << (8 * $1) } }
    func i32(_ b: [UInt8], _ o: Int) -> Int32 { Int32(truncatingIfNeeded: u32(b, o)) }
    func crc32(_ b: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for x in b {
            c ^= UInt32(x)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }
    func patchCRC(_ b: inout [UInt8]) {
        let c = crc32(b[DecoderImageLayout.Header.crcStart...])
        for k in 0..<4 { b[DecoderImageLayout.Header.crc + k] = UInt8((c >> (8 * UInt32(k))) & 0xFF) }
    }

    func testImageBytesFollowTheSpec() {
        let s = state()
        let (d, img) = int8Image(s)
        typealias H = DecoderImageLayout.Header
        typealias R = DecoderImageLayout.Layer
        XCTAssertEqual(Array(img[0..<4]), Array("VAED".utf8))
        XCTAssertEqual(u16(img, H.major), 1); XCTAssertEqual(u16(img, H.minor), 1)
        XCTAssertEqual(u32(img, H.totalLength), img.count); XCTAssertEqual(img.count % 16, 0)
        XCTAssertEqual(UInt32(u32(img, H.crc)), crc32(img[16...]))
        XCTAssertEqual(u32(img, H.weightType), 2)
        XCTAssertEqual(u32(img, H.latent), 64)
        XCTAssertEqual([u32(img, H.viewChannels), u32(img, H.viewHeight), u32(img, H.viewWidth)], [16, 2, 2])
        XCTAssertEqual(u32(img, H.layerCount), 6)
        XCTAssertEqual([u32(img, H.outputChannels), u32(img, H.outputHeight), u32(img, H.outputWidth)], [1, 28, 28])
        XCTAssertEqual(u32(img, H.latentWidth), 2)
        XCTAssertEqual(Float(bitPattern: UInt32(u32(img, H.latentInverseScale))), d.latentInverseScale)
        XCTAssertEqual(i32(img, H.latentQmax), d.latentQmax)
        var spans: [Range<Int>] = []
        let recordsEnd = 64 + 6 * 64
        for (i, l) in ModelConfig.standard.layers.enumerated() {
            let r = 64 + 64 * i
            XCTAssertEqual([u32(img, r + R.kind), u32(img, r + R.inChannels), u32(img, r + R.outChannels), u32(img, r + R.kernelH),
                            u32(img, r + R.kernelW), u32(img, r + R.stride), u32(img, r + R.padding), u32(img, r + R.activation)],
                           [1, l.inChannels, l.outChannels, l.kernel, l.kernel, 1, 0, Int(l.activation.rawValue)])
            XCTAssertEqual(Float(bitPattern: UInt32(u32(img, r + R.slope))), l.slope)
            let last = i == 5
            let sizes = [l.inChannels * l.outChannels * l.kernel * l.kernel, 4 * l.outChannels, 4 * l.outChannels * (last ? 255 : 4)]
            for (k, field) in [R.weightOffset, R.biasOffset, R.requantOffset].enumerated() {
                let o = u32(img, r + field)
                XCTAssertEqual(o % 16, 0); XCTAssertGreaterThanOrEqual(o, recordsEnd); XCTAssertLessThanOrEqual(o + sizes[k], img.count)
                XCTAssertFalse(spans.contains { $0.overlaps(o..<(o + sizes[k])) })
                spans.append(o..<(o + sizes[k]))
            }
            let dl = d.layers[i]
            let w = u32(img, r + R.weightOffset), b = u32(img, r + R.biasOffset), q = u32(img, r + R.requantOffset)
            XCTAssertEqual(img[w..<(w + sizes[0])].map { Int8(bitPattern: $0) }, dl.weights)
            XCTAssertEqual((0..<l.outChannels).map { i32(img, b + 4 * $0) }, dl.bias)
            XCTAssertEqual((0..<(sizes[2] / 4)).map { i32(img, q + 4 * $0) }, dl.requant)
            XCTAssertEqual(u32(img, r + R.outputWidth), last ? 0 : [2, 1, 2, 1, 2][i])
            XCTAssertEqual([i32(img, r + R.outputZeroPoint), i32(img, r + R.outputQmin), i32(img, r + R.outputQmax)],
                           [dl.outputZeroPoint, dl.outputQmin, dl.outputQmax])
            if last { XCTAssertEqual([dl.outputZeroPoint, dl.outputQmin, dl.outputQmax], [0, 0, 0]) }
        }
    }

    func testParserRefusesWhatTheSpecRefuses() throws {
        let (_, img) = int8Image(state())
        XCTAssertNoThrow(try Int8ImageBuilder.parse(img, path: "x"))
        typealias R = DecoderImageLayout.Layer
        func refused(_ edit: (inout [UInt8]) -> Void, crc: Bool = true, _ text: String, line: UInt = #line) {
            var b = img
            edit(&b)
            if crc { patchCRC(&b) }
            XCTAssertThrowsError(try Int8ImageBuilder.parse(b, path: "x.vaed"), line: line) { e in
                XCTAssertTrue("\(e)".contains(text), "\(e)", line: line)
                XCTAssertTrue("\(e)".hasPrefix("x.vaed: "), line: line)
            }
        }
        func put(_ b: inout [UInt8], _ o: Int, _ v: Int32) { for k in 0..<4 { b[o + k] = UInt8((UInt32(bitPattern: v) >> (8 * UInt32(k))) & 0xFF) } }
        let r0 = 64, r5 = 64 + 5 * 64
        refused({ $0[100] ^= 1 }, crc: false, "CRC")
        refused({ put(&$0, u32(img, r0 + R.requantOffset), 0) }, "multipliers")                    // M_pos = 0
        refused({ put(&$0, u32(img, r0 + R.requantOffset) + 4, 63) }, "multipliers")                        // n_pos = 63
        refused({ put(&$0, u32(img, r5 + R.requantOffset), Int32.max) }, "thresholds decrease")
        refused({ put(&$0, r0 + R.outputZeroPoint, 5) }, "zero point")                                         // int16 with zp 5
        refused({ put(&$0, u32(img, r0 + R.biasOffset), Int32.max) }, "accumulator bound")
        refused({ put(&$0, DecoderImageLayout.Header.latentQmax, 0) }, "latent qmax")
        refused({ put(&$0, DecoderImageLayout.Header.latentWidth, 1) }, "latent width")
        refused({ put(&$0, r0 + R.weightOffset, Int32(u32(img, r0 + R.weightOffset) + 4)) }, "multiple of 16")
        refused({ put(&$0, r0 + R.biasOffset, Int32(u32(img, r0 + R.weightOffset))) }, "overlaps")
    }

    // MARK: the section

    func testDEC8RoundTripKeepsEveryOtherSection() throws {
        let s = state()
        let (_, img) = int8Image(s)
        let plain = dir + "/plain.vaeckpt", with = dir + "/with.vaeckpt"
        try s.save(to: plain)
        var c = s.checkpointContents
        c.int8DecoderImage = img
        try CheckpointWriter.write(c, to: with)
        let r = try CheckpointReader.read(with)
        XCTAssertEqual(r.int8DecoderImage, img)
        XCTAssertEqual(r.params.map(\.bitPattern), s.params.map(\.bitPattern))
        XCTAssertEqual(try CheckpointReader.readDecoderImage(with, precision: .int8).image, img)
        XCTAssertEqual(try CheckpointReader.readDecoderImage(with).image, try CheckpointReader.readDecoderImage(plain).image)
        var a = try CheckpointReader.rawSections(plain), b = try CheckpointReader.rawSections(with)
        XCTAssertEqual(b.removeValue(forKey: SectionTag.decoderInt8), img)
        XCTAssertEqual(a.count, 4)
        for (t, raw) in a { XCTAssertEqual(b[t], raw) }
        a.removeAll(); XCTAssertEqual(b.count, 4)
        // Written again from what was read: the same file.
        XCTAssertEqual(CheckpointWriter.encode(r), [UInt8](FileManager.default.contents(atPath: with)!))
        // Minor version 1 or later (2 since PRIO), DEC8 non-critical (a v1.0 reader skips it).
        let bytes = [UInt8](FileManager.default.contents(atPath: with)!)
        XCTAssertEqual(u16(bytes, 10), Int(CheckpointFormat.minor))
        let sectionTable = 16 + u32(bytes, 16)
        XCTAssertEqual(u32(bytes, sectionTable), 5)
        let last = sectionTable + 4 + 4 * 40
        XCTAssertEqual(Array(bytes[last..<(last + 4)]), Array("DEC8".utf8))
        XCTAssertEqual(u32(bytes, last + 4), 0)
    }

    func testCheckpointWithoutDEC8ReadsAndSaysHowToMakeOne() throws {
        let s = state()
        let path = dir + "/plain.vaeckpt"
        try s.save(to: path)
        XCTAssertNil(try CheckpointReader.read(path).int8DecoderImage)
        XCTAssertThrowsError(try CheckpointReader.readDecoderImage(path, precision: .int8)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("no int8 decoder in \(path)"), m)
            XCTAssertTrue(m.contains("vae-train quantise --checkpoint \(path)"), m)
        }
        // A v1.0 file (minor 0, as written before DEC8 existed) still reads.
        var b = [UInt8](FileManager.default.contents(atPath: path)!)
        b[10] = 0; b[11] = 0
        let H = u32(b, 12)
        let c = crc32(b[0..<(H - 4)])
        for k in 0..<4 { b[H - 4 + k] = UInt8((c >> (8 * UInt32(k))) & 0xFF) }
        let old = dir + "/old.vaeckpt"
        XCTAssertTrue(FileManager.default.createFile(atPath: old, contents: Data(b)))
        XCTAssertEqual(try CheckpointReader.read(old).params.map(\.bitPattern), s.params.map(\.bitPattern))
    }

    func testDEC8OfAnotherArchitectureIsRefused() throws {
        let s = state()
        var (d, _) = int8Image(s)
        d.layers[0].slope = 0.2   // an image of a decoder that is not this one
        var c = s.checkpointContents
        c.int8DecoderImage = Int8ImageBuilder.build(d)
        let path = dir + "/mismatch.vaeckpt"
        try CheckpointWriter.write(c, to: path)
        XCTAssertThrowsError(try CheckpointReader.read(path)) { XCTAssertTrue("\($0)".contains("not the architecture block's"), "\($0)") }
        XCTAssertThrowsError(try CheckpointReader.readDecoderImage(path, precision: .int8))
    }

    func testCorruptDEC8IsRefusedNamingTheFile() throws {
        let s = state()
        var (_, img) = int8Image(s)
        img[200] ^= 0xFF   // the image's own CRC no longer matches; the section's CRCs are of the corrupt bytes
        var c = s.checkpointContents
        c.int8DecoderImage = img
        let path = dir + "/corrupt.vaeckpt"
        try CheckpointWriter.write(c, to: path)
        XCTAssertThrowsError(try CheckpointReader.readDecoderImage(path, precision: .int8)) {
            XCTAssertTrue("\($0)".hasPrefix(path + ": int8 decoder image: CRC"), "\($0)")
        }
    }
}
