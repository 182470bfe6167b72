import Checkpoint
import Foundation
import VAEDecoder
import VAETrainer
import XCTest

final class CheckpointTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "ckpt-tests-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A state with every field non-trivial.
    func sampleState() -> TrainState {
        var h = Hyper(); h.seed = 9; h.lr = 2e-3
        var s = TrainState(config: .standard, hyper: h)
        s.adamM = s.params.map { $0 * 0.5 }
        s.adamV = s.params.map { $0 * $0 }
        s.step = 1234; s.epoch = 3; s.imagesPerEpoch = 60000
        _ = s.rng.next()
        s.history = [EpochRecord(epoch: 1, seconds: 20.5, trainRec: 200, trainKL: 10, valRec: 150, valKL: 12),
                     EpochRecord(epoch: 2, seconds: 21.5, trainRec: 150, trainKL: 15, valRec: 130, valKL: 16)]
        return s
    }

    func testRoundTripIsExact() throws {
        let s = sampleState()
        let path = dir + "/a.vaeckpt"
        try s.save(to: path)
        let r = try TrainState(checkpoint: path)
        XCTAssertEqual(r.config, s.config)
        XCTAssertEqual(r.params.map(\.bitPattern), s.params.map(\.bitPattern))
        XCTAssertEqual(r.adamM.map(\.bitPattern), s.adamM.map(\.bitPattern))
        XCTAssertEqual(r.adamV.map(\.bitPattern), s.adamV.map(\.bitPattern))
        XCTAssertEqual(r.step, s.step); XCTAssertEqual(r.epoch, s.epoch)
        XCTAssertEqual(r.rng, s.rng); XCTAssertEqual(r.hyper, s.hyper)
        XCTAssertEqual(r.history, s.history)
        XCTAssertEqual(r.imagesPerEpoch, 60000)
    }

    func testDecoderSectionAloneIsTheDecoderImage() throws {
        let s = sampleState()
        let path = dir + "/a.vaeckpt"
        try s.save(to: path)
        let (config, image) = try CheckpointReader.readDecoderImage(path)
        XCTAssertEqual(config, .standard)
        let layout = ParamLayout(config)
        // The image's weights are the state's weights, at the offsets the spec gives.
        for (i, o) in DecoderImageBuilder.offsets(config).enumerated() {
            let e = layout.entry(named: "convs.\(i).weight")!
            let first = image.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o.weight, as: Float.self) }
            XCTAssertEqual(first, s.params[e.offset])
        }
    }

    // MARK: refusals

    func expectError(_ bytes: [UInt8], contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        let path = dir + "/bad.vaeckpt"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        XCTAssertThrowsError(try CheckpointReader.read(path), file: file, line: line) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.hasPrefix(path), "error must name the file: \(msg)", file: file, line: line)
            XCTAssertTrue(msg.contains(text), "expected '\(text)' in: \(msg)", file: file, line: line)
        }
    }

    func goodBytes() -> [UInt8] { CheckpointWriter.encode(sampleState().checkpointContents) }

    func headerLength(_ b: [UInt8]) -> Int { Int(b[12]) | Int(b[13]) << 8 | Int(b[14]) << 16 | Int(b[15]) << 24 }

    /// Re-signs the header after an edit, so that the check under test is the one that fires.
    func resign(_ b: inout [UInt8]) {
        let h = headerLength(b)
        let crc = CRC32Host.crc(Array(b[0..<(h - 4)]))
        for i in 0..<4 { b[h - 4 + i] = UInt8((crc >> (8 * UInt32(i))) & 0xFF) }
    }

    func testBadMagic() { var b = goodBytes(); b[0] = 0x50; expectError(b, contains: "bad magic") }

    func testUnknownMajorVersion() { var b = goodBytes(); b[8] = 2; expectError(b, contains: "format version 2.\(CheckpointFormat.minor) is not supported") }

    func testNewerMinorVersionIsAccepted() throws {
        var b = goodBytes(); b[10] = 7; resign(&b)
        let path = dir + "/minor.vaeckpt"
        FileManager.default.createFile(atPath: path, contents: Data(b))
        XCTAssertNoThrow(try CheckpointReader.read(path))
    }

    func testHeaderCorruption() { var b = goodBytes(); b[40] ^= 1; expectError(b, contains: "header CRC-32 mismatch") }

    func testEveryTruncationIsRefused() throws {
        let b = goodBytes()
        let path = dir + "/t.vaeckpt"
        // Every length up to the end of the header, then a spread through the sections.
        var lengths = Array(0..<min(b.count, headerLength(b) + 64))
        lengths += stride(from: headerLength(b) + 64, to: b.count, by: max(1, b.count / 300))
        for n in lengths {
            FileManager.default.createFile(atPath: path, contents: Data(b.prefix(n)))
            XCTAssertThrowsError(try CheckpointReader.read(path), "a file cut to \(n) of \(b.count) bytes was accepted")
        }
    }

    func testRandomByteFlipsNeverCrashAndNeverPass() throws {
        let b = goodBytes()
        let path = dir + "/f.vaeckpt"
        var rng = Xoshiro256(seed: 3)
        for _ in 0..<400 {
            var c = b
            let i = rng.below(c.count)
            c[i] ^= UInt8(1 + rng.below(255))
            FileManager.default.createFile(atPath: path, contents: Data(c))
            XCTAssertThrowsError(try CheckpointReader.read(path), "a flip at byte \(i) was not detected")
        }
    }

    func testSectionCRCMismatchNamesTheSection() {
        var b = goodBytes()
        let h = headerLength(b)
        b[h + 10] ^= 0xFF   // inside the first section's zlib stream (ENC)
        expectError(b, contains: "section \"ENC \": CRC-32 of the compressed bytes does not match")
    }

    /// Offsets of fields in the header, found by walking it as the spec lays it out.
    func sectionTableOffset(_ b: [UInt8]) -> Int {
        let archLen = Int(b[16]) | Int(b[17]) << 8
        return 16 + archLen
    }

    func testSectionBeyondTheFile() {
        var b = goodBytes()
        let t = sectionTableOffset(b) + 4   // first entry
        b[t + 16 + 6] = 0x01                // stored length += 2^48
        resign(&b)
        expectError(b, contains: "lies outside the file")
    }

    func testRawLengthOverTheCap() {
        var b = goodBytes()
        let t = sectionTableOffset(b) + 4
        b[t + 24 + 4] = 0x7F                // raw length ~ 2^38
        resign(&b)
        expectError(b, contains: "over the 256 MiB cap")
    }

    func testRawLengthThatLies() {
        var b = goodBytes()
        let t = sectionTableOffset(b) + 4
        b[t + 24] &+= 4                     // raw length a little larger than the stream inflates to
        resign(&b)
        expectError(b, contains: "ENC ")
    }

    func testUnknownCriticalSectionIsRefusedAndUnknownOptionalIsSkipped() throws {
        for (critical, shouldFail) in [(UInt8(1), true), (UInt8(0), false)] {
            var b = goodBytes()
            let t = sectionTableOffset(b) + 4 + 3 * 40   // the 4th entry: HIST (not critical)
            b[t] = UInt8(ascii: "X"); b[t + 4] = critical
            resign(&b)
            let path = dir + "/u.vaeckpt"
            FileManager.default.createFile(atPath: path, contents: Data(b))
            if shouldFail {
                XCTAssertThrowsError(try CheckpointReader.read(path)) { XCTAssertTrue("\($0)".contains("critical section")) }
            } else {
                let c = try CheckpointReader.read(path)
                XCTAssertTrue(c.history.isEmpty, "the unknown section's bytes must not be read as history")
            }
        }
    }

    func testShapeDisagreeingWithTheArchitecture() {
        var b = goodBytes()
        // Change the LSTM hidden size in the architecture block: every LSTM tensor now disagrees.
        b[16 + 4 * 5] = 64
        resign(&b)
        expectError(b, contains: "tensor lstm.weight_ih_l0 is f32 [512, 28] in \"ENC \"; the architecture needs f32 [256, 28]")
    }

    func testMissingFileAndDirectory() {
        XCTAssertThrowsError(try CheckpointReader.read(dir + "/nope.vaeckpt")) { XCTAssertTrue("\($0)".contains("no such file")) }
        XCTAssertThrowsError(try CheckpointReader.read(dir)) { XCTAssertTrue("\($0)".contains("not a regular file")) }
    }

    // MARK: atomic writes

    func testFailedWriteLeavesThePreviousFileIntact() throws {
        let path = dir + "/keep.vaeckpt"
        let s = sampleState()
        try s.save(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        // A "full disk": limit this process's file size so that write() fails with EFBIG.
        signal(SIGXFSZ, SIG_IGN)
        var old = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        var small = old; small.rlim_cur = 4096
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small)
        var other = s; other.epoch = 99
        XCTAssertThrowsError(try other.save(to: path)) { e in
            XCTAssertTrue("\(e)".contains("previous file, if any, is untouched"), "\(e)")
        }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "the temporary file must be removed")
        XCTAssertEqual(try TrainState(checkpoint: path).epoch, 3)
    }

    func testUnwritableFolder() {
        XCTAssertThrowsError(try sampleState().save(to: "/proc/definitely/not/here.vaeckpt")) {
            XCTAssertTrue("\($0)".contains("cannot create a temporary file"))
        }
    }
}

enum CRC32Host {
    static func crc(_ b: [UInt8]) -> UInt32 { b.withUnsafeBytes { CRC32.checksum($0) } }
}

/// The float32 image builder writes every field at DecoderImageLayout's named offsets; what it
/// makes from the shipped checkpoint's weights is that checkpoint's decoder section, byte for byte.
final class DecoderImageBuilderTests: XCTestCase {
    func testRebuildingTheShippedDecoderGivesItsBytes() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("checkpoints/vae-mnist.vaeckpt").path
        let c = try CheckpointReader.read(path)
        let layout = ParamLayout(c.config)
        let rebuilt = DecoderImageBuilder.build(c.config) { name in
            let e = layout.entry(named: name)!
            return Array(c.params[e.offset..<(e.offset + e.count)])
        }
        XCTAssertEqual(rebuilt, try CheckpointReader.readDecoderImage(path).image)
    }
}

/// readDecoderImage reads the header and one section: on truncated or damaged files it must
/// refuse exactly as the whole-file reader does, never trap, and name the file.
final class PartialReadTests: XCTestCase {
    func testTruncatedAndDamagedFilesAreRefused() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let bytes = try Data(contentsOf: root.appendingPathComponent("checkpoints/vae-mnist.vaeckpt")).map { $0 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("partial-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.vaeckpt").path
        var lengths = Array(0..<64) + stride(from: 64, to: bytes.count, by: 4099).map { $0 }
        lengths.append(bytes.count - 1)
        for n in lengths {
            try Data(bytes[0..<n]).write(to: URL(fileURLWithPath: path))
            for p in [DecoderPrecision.float32, .int8] {
                XCTAssertThrowsError(try CheckpointReader.readDecoderImage(path, precision: p), "length \(n)") {
                    XCTAssertTrue("\($0)".contains(path), "the error names the file: \($0)")
                }
            }
        }
        // One flipped byte inside each decoder section: a CRC refusal, not a different decoder.
        for p in [DecoderPrecision.float32, .int8] {
            let good = try CheckpointReader.readDecoderImage(root.appendingPathComponent("checkpoints/vae-mnist.vaeckpt").path, precision: p).image
            var flipped = 0
            for at in stride(from: bytes.count / 50, to: bytes.count, by: bytes.count / 50) {
                var b = bytes; b[at] ^= 0x10
                try Data(b).write(to: URL(fileURLWithPath: path))
                if let got = try? CheckpointReader.readDecoderImage(path, precision: p).image { XCTAssertEqual(got, good, "flip at \(at)") } else { flipped += 1 }
            }
            XCTAssertGreaterThan(flipped, 0)
        }
        XCTAssertThrowsError(try CheckpointReader.readDecoderImage(dir.path)) { XCTAssertTrue("\($0)".contains("not a regular file")) }
    }
}
