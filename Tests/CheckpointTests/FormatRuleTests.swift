@testable import Checkpoint
import Foundation
import VAEDecoder
import VAETrainer
import XCTest

/// A checkpoint taken apart and put back together exactly as docs/checkpoint-format.md lays it
/// out, without CheckpointWriter: the tests below edit one rule's worth of it and check what the
/// reader does. `testContainerRebuildsTheWriterByteForByte` shows this model of the format is
/// complete.
struct Container {
    struct Section { var tag: UInt32; var flags: UInt32; var raw: [UInt8] }
    struct Tensor { var section: UInt32; var dtype: UInt8; var name: String; var dims: [UInt32]; var offset: UInt64; var length: UInt64 }

    var version: [UInt8]            // bytes 8..<12: major, minor
    var arch: [UInt8]               // the architecture block, its length field included
    var sections: [Section]         // in table order
    var tensors: [Tensor]           // in table order
    var headerTail: [UInt8] = []    // bytes after the tensor table, before the header CRC
    var gap: [UInt8] = []           // bytes between the header and the first payload
    var trailer: [UInt8] = []       // bytes after the last payload
    var payloadOrder: [Int]? = nil  // the order the payloads are laid out in (default: table order)

    static func u16(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
    static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
    static func tag(_ s: String) -> UInt32 { u32(Array(s.utf8), 0) }

    init(_ b: [UInt8]) {
        version = Array(b[8..<12])
        let h = Int(Container.u32(b, 12))
        let archLen = Int(Container.u32(b, 16))
        arch = Array(b[16..<(16 + archLen)])
        var p = 16 + archLen
        let ns = Int(Container.u32(b, p)); p += 4
        sections = []
        for _ in 0..<ns {
            let off = Int(Container.u64(b, p + 8)), stored = Int(Container.u64(b, p + 16)), raw = Int(Container.u64(b, p + 24))
            let (bytes, problem) = Zlib.inflate(b[off..<(off + stored)], rawCount: raw)
            precondition(problem == nil, problem!)
            sections.append(Section(tag: Container.u32(b, p), flags: Container.u32(b, p + 4), raw: bytes!))
            p += 40
        }
        let nt = Int(Container.u32(b, p)); p += 4
        tensors = []
        for _ in 0..<nt {
            let sec = Container.u32(b, p), dtype = b[p + 4], rank = Int(b[p + 5]), n = Container.u16(b, p + 6)
            p += 8
            let name = String(decoding: b[p..<(p + n)], as: UTF8.self); p += n
            let dims = (0..<rank).map { Container.u32(b, p + 4 * $0) }; p += 4 * rank
            tensors.append(Tensor(section: sec, dtype: dtype, name: name, dims: dims, offset: Container.u64(b, p), length: Container.u64(b, p + 8)))
            p += 16
        }
        precondition(p == h - 4)
    }

    func encode() -> [UInt8] {
        var w = ByteWriter()
        func header(_ offsets: [Int]) -> [UInt8] {
            var w = ByteWriter()
            w.bytes = Array("VAECKPT".utf8) + [0] + version
            w.u32(0)
            w.bytes += arch
            w.u32(sections.count)
            for (i, s) in sections.enumerated() {
                let stored = Zlib.compress(s.raw)
                w.u32(s.tag); w.u32(s.flags); w.u64(UInt64(offsets[i])); w.u64(UInt64(stored.count)); w.u64(UInt64(s.raw.count))
                w.u32(Zlib.crc32(stored)); w.u32(Zlib.crc32(s.raw))
            }
            w.u32(tensors.count)
            for t in tensors {
                w.u32(t.section); w.u8(t.dtype); w.u8(UInt8(t.dims.count))
                let n = Array(t.name.utf8)
                w.u16(UInt16(n.count)); w.bytes += n
                for d in t.dims { w.u32(d) }
                w.u64(t.offset); w.u64(t.length)
            }
            w.bytes += headerTail
            w.patchU32(at: 12, UInt32(w.bytes.count + 4))
            w.u32(Zlib.crc32(w.bytes))
            return w.bytes
        }
        let stored = sections.map { Zlib.compress($0.raw) }
        let order = payloadOrder ?? Array(sections.indices)
        var offsets = Array(repeating: 0, count: sections.count)
        var pos = header(offsets).count + gap.count
        for i in order { offsets[i] = pos; pos += stored[i].count }
        w.bytes = header(offsets) + gap
        for i in order { w.bytes += stored[i] }
        w.bytes += trailer
        return w.bytes
    }

    func section(_ t: String) -> Int { sections.firstIndex { $0.tag == Container.tag(t) }! }
    func tensor(_ n: String) -> Int { tensors.firstIndex { $0.name == n }! }
}

final class CheckpointFormatRuleTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "ckpt-rules-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    static let rngWords: (UInt64, UInt64, UInt64, UInt64) = (0x0706_0504_0302_0100, 0x1716_1514_1312_1110, 0x2726_2524_2322_2120, 0x3736_3534_3332_3130)

    func sampleState() -> TrainState {
        var h = Hyper(); h.seed = 9; h.lr = 2e-3
        var s = TrainState(config: .standard, hyper: h)
        s.adamM = s.params.map { $0 * 0.5 }
        s.adamV = s.params.map { $0 * $0 }
        s.step = 1234; s.epoch = 3; s.imagesPerEpoch = 60000
        s.rng = Xoshiro256(state: Self.rngWords)
        s.history = [EpochRecord(epoch: 1, seconds: 20.5, trainRec: 200, trainKL: 10, valRec: 150, valKL: 12),
                     EpochRecord(epoch: 2, seconds: 21.5, trainRec: 150, trainKL: 15, valRec: 130, valKL: 16)]
        return s
    }

    func good() -> [UInt8] { CheckpointWriter.encode(sampleState().checkpointContents) }

    func read(_ b: [UInt8]) throws -> CheckpointContents {
        let path = dir + "/c.vaeckpt"
        FileManager.default.createFile(atPath: path, contents: Data(b))
        return try CheckpointReader.read(path)
    }

    func expectRefused(_ b: [UInt8], _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(b), file: file, line: line) {
            XCTAssertTrue("\($0)".contains(text), "expected '\(text)' in: \($0)", file: file, line: line)
        }
    }

    /// Accepted, and read as exactly what the unedited file holds.
    func expectSameAsGood(_ b: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let want = try read(good()), got = try read(b)
        XCTAssertEqual(got.config, want.config, file: file, line: line)
        XCTAssertEqual(got.params.map(\.bitPattern), want.params.map(\.bitPattern), file: file, line: line)
        XCTAssertEqual(got.training, want.training, file: file, line: line)
        XCTAssertEqual(got.history, want.history, file: file, line: line)
    }

    func testContainerRebuildsTheWriterByteForByte() {
        let b = good()
        XCTAssertEqual(Container(b).encode(), b)
    }

    // MARK: 1.1 the architecture block's length

    func testArchitectureBlockLengthIsExactlyWhatTheWriterWrites() {
        let c = Container(good())
        XCTAssertEqual(c.arch.count, 64 + 36 * ModelConfig.standard.layers.count)
        XCTAssertEqual(Int(Container.u32(c.arch, 0)), c.arch.count)
    }

    func testArchitectureBlockMayCarryBytesTheReaderSkips() throws {
        var c = Container(good())
        c.arch += [0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3]     // any length, no alignment
        c.arch.replaceSubrange(0..<4, with: withUnsafeBytes(of: UInt32(c.arch.count).littleEndian, Array.init))
        try expectSameAsGood(c.encode())
    }

    func testArchitectureBlockShorterThanItsLayersIsRefused() {
        for short in [64 + 36 * 6 - 1, 64 + 36 * 5] {
            var c = Container(good())
            c.arch.replaceSubrange(0..<4, with: withUnsafeBytes(of: UInt32(short).littleEndian, Array.init))
            expectRefused(c.encode(), "architecture block is shorter than its layers")
        }
        var c = Container(good())
        c.arch.replaceSubrange(0..<4, with: withUnsafeBytes(of: UInt32(60).littleEndian, Array.init))
        expectRefused(c.encode(), "architecture block is 60 bytes, less than 64")
    }

    func testBytesAfterTheTensorTableAreRefused() {
        var c = Container(good())
        c.headerTail = [0, 0, 0, 0]
        expectRefused(c.encode(), "4 unexpected bytes at the end of the header")
    }

    // MARK: 1.2 sections: unique, in any order

    func testWriterSectionOrderAndLayout() {
        let b = good(), c = Container(b)
        XCTAssertEqual(c.sections.map(\.tag), ["ENC ", "DEC ", "OPT ", "HIST"].map(Container.tag))
        XCTAssertEqual(c.sections.map(\.flags), [1, 1, 0, 0])
        // Payloads are contiguous from H, in table order.
        var pos = Int(Container.u32(b, 12))
        let table = 16 + c.arch.count + 4
        for i in c.sections.indices {
            XCTAssertEqual(Int(Container.u64(b, table + 40 * i + 8)), pos)
            pos += Int(Container.u64(b, table + 40 * i + 16))
        }
        XCTAssertEqual(pos, b.count)
    }

    func testDuplicatedSectionIsRefused() {
        // A second copy of a section, in its own bytes (so that no overlap hides the rule): known
        // or unknown, critical or not, the file is refused.
        for (t, flags) in [("HIST", UInt32(0)), ("ENC ", UInt32(1))] {
            var c = Container(good())
            var copy = c.sections[c.section(t)]; copy.flags = flags
            c.sections.append(copy)
            expectRefused(c.encode(), "a section tag appears twice")
        }
        var c = Container(good())
        c.sections += [Container.Section(tag: Container.tag("XTRA"), flags: 0, raw: [1, 2, 3]),
                       Container.Section(tag: Container.tag("XTRA"), flags: 0, raw: [4, 5, 6])]
        expectRefused(c.encode(), "a section tag appears twice")
    }

    func testTwoEntriesForTheSameBytesAreAnOverlap() {
        var b = good()
        let c = Container(b)
        // Point HIST's entry at OPT's stream: refused as an overlap (that check runs before the
        // duplicate-tag check).
        let table = 16 + c.arch.count + 4
        for k in 8..<16 { b[table + 40 * 3 + k] = b[table + 40 * 2 + k] }
        let h = Int(Container.u32(b, 12))
        let crc = Zlib.crc32(b[0..<(h - 4)])
        for i in 0..<4 { b[h - 4 + i] = UInt8((crc >> (8 * UInt32(i))) & 0xFF) }
        expectRefused(b, "overlap")
    }

    func testSectionTableAndPayloadsInAnyOrder() throws {
        var c = Container(good())
        c.sections.reverse()                  // table: HIST, OPT, DEC, ENC
        try expectSameAsGood(c.encode())
        c.payloadOrder = [2, 0, 3, 1]         // payloads: DEC, HIST, ENC, OPT
        try expectSameAsGood(c.encode())
    }

    func testGapsAndTrailingBytesAreNotRead() throws {
        var c = Container(good())
        c.gap = Array(repeating: 0xA5, count: 13)
        c.trailer = Array("anything".utf8)
        try expectSameAsGood(c.encode())
    }

    func testUnknownOptionalSectionAndItsTensorsAreSkipped() throws {
        var c = Container(good())
        c.sections.insert(Container.Section(tag: Container.tag("XTRA"), flags: 0, raw: Array(repeating: 7, count: 40)), at: 1)
        c.tensors.append(.init(section: Container.tag("XTRA"), dtype: 2, name: "future.thing", dims: [5], offset: 0, length: 40))
        c.tensors.append(.init(section: Container.tag("HIST"), dtype: 1, name: "future.note", dims: [2], offset: 8, length: 8))
        try expectSameAsGood(c.encode())
    }

    func testInferenceOnlyFileReadsWithoutTraining() throws {
        var c = Container(good())
        c.sections.remove(at: c.section("OPT "))
        c.sections.remove(at: c.section("HIST"))
        c.tensors.removeAll { $0.section == Container.tag("OPT ") }
        let r = try read(c.encode())
        XCTAssertNil(r.training)
        XCTAssertEqual(r.history, [])
        for t in ["ENC ", "DEC "] {
            var d = Container(good())
            d.sections.remove(at: d.section(t))
            d.tensors.removeAll { $0.section == Container.tag(t) }
            expectRefused(d.encode(), "section \"\(t)\" is missing")
        }
    }

    // MARK: 1.3 / 1.4 tensor order

    /// The documented list: ParamLayout order, the names of the standard model.
    static let modelTensors = ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
                               "fc_mu.weight", "fc_mu.bias", "fc_logvar.weight", "fc_logvar.bias"]
        + (0..<6).flatMap { ["convs.\($0).weight", "convs.\($0).bias"] }

    func testTensorTableOrderAndOptimiserLayout() {
        let c = Container(good())
        XCTAssertEqual(ParamLayout(.standard).entries.map(\.name), Self.modelTensors)
        XCTAssertEqual(c.tensors.map(\.name), Self.modelTensors + Self.modelTensors.map { "adam.m." + $0 } + Self.modelTensors.map { "adam.v." + $0 })
        XCTAssertEqual(c.tensors.map(\.section), Array(repeating: Container.tag("ENC "), count: 8) + Array(repeating: Container.tag("DEC "), count: 12)
            + Array(repeating: Container.tag("OPT "), count: 2 * Self.modelTensors.count))
        // ENC and OPT: packed in table order, each at the next multiple of 16 (ENC from 0, OPT from
        // 128, after the training block), zero padding between them.
        for (tag, start) in [("ENC ", 0), ("OPT ", 128)] {
            let raw = c.sections[c.section(tag)].raw
            var pos = start
            for t in c.tensors where t.section == Container.tag(tag) {
                let aligned = (pos + 15) & ~15
                XCTAssertEqual(Int(t.offset), aligned, t.name)
                XCTAssertTrue(raw[pos..<aligned].allSatisfy { $0 == 0 }, t.name)
                XCTAssertEqual(Int(t.length), 4 * t.dims.reduce(1) { $0 * Int($1) }, t.name)
                pos = aligned + Int(t.length)
            }
            XCTAssertEqual(pos, raw.count, "\(tag) ends right after its last tensor")
        }
    }

    func testReaderFindsOptimiserTensorsThroughTheTable() throws {
        // Swap where adam.m.fc_mu.bias and adam.v.fc_mu.bias point: the reader follows the table.
        var c = Container(good())
        let m = c.tensor("adam.m.fc_mu.bias"), v = c.tensor("adam.v.fc_mu.bias")
        (c.tensors[m].offset, c.tensors[v].offset) = (c.tensors[v].offset, c.tensors[m].offset)
        let r = try read(c.encode()), s = sampleState()
        let e = ParamLayout(.standard).entry(named: "fc_mu.bias")!
        XCTAssertEqual(Array(r.training!.adamM[e.offset..<(e.offset + e.count)]), Array(s.adamV[e.offset..<(e.offset + e.count)]))
        XCTAssertEqual(Array(r.training!.adamV[e.offset..<(e.offset + e.count)]), Array(s.adamM[e.offset..<(e.offset + e.count)]))
    }

    // MARK: 1.4 training block

    func testTrainingBlockFieldOffsetsAndRNGWordOrder() {
        let s = sampleState()
        let raw = Container(good()).sections[2].raw
        XCTAssertEqual(Container.u32(raw, 0), 128)
        XCTAssertEqual(Container.u32(raw, 4), 3)
        XCTAssertEqual(Container.u64(raw, 8), 1234)
        XCTAssertEqual(Container.u32(raw, 16), UInt32(s.hyper.batch))
        XCTAssertEqual(Container.u64(raw, 24), s.hyper.lr.bitPattern)
        XCTAssertEqual(Container.u64(raw, 32), s.hyper.beta1.bitPattern)
        XCTAssertEqual(Container.u64(raw, 40), s.hyper.beta2.bitPattern)
        XCTAssertEqual(Container.u64(raw, 48), s.hyper.eps.bitPattern)
        XCTAssertEqual(Container.u64(raw, 56), 9)
        // xoshiro256** s[0], s[1], s[2], s[3] of the reference C code, each a little-endian u64:
        // the words chosen make the 32 bytes read 0x00, 0x01, ... within each word and the word's
        // index in the high nibble.
        XCTAssertEqual(Array(raw[64..<96]), (0..<4).flatMap { w in (0..<8).map { UInt8(16 * w + $0) } })
        XCTAssertEqual(Container.u64(raw, 96), 60000)
        XCTAssertEqual(Array(raw[104..<128]), Array(repeating: 0, count: 24))
    }

    func testRNGWordsAreTheReferenceXoshiroState() {
        // State (1, 2, 3, 4) as s[0..3] of Blackman & Vigna's xoshiro256starstar.c gives
        // 11520, 0, 1509978240 (the reference code's outputs), and a seed's state is SplitMix64's
        // first four outputs for that seed.
        var r = Xoshiro256(state: (1, 2, 3, 4))
        XCTAssertEqual([r.next(), r.next(), r.next()], [11520, 0, 1_509_978_240])
        XCTAssertEqual(r.s.0, 0xC000_1804_0002); XCTAssertEqual(r.s.3, 0x8000_A000_0000_0300)
        let seeded = Xoshiro256(seed: 9)
        XCTAssertEqual([seeded.s.0, seeded.s.1, seeded.s.2, seeded.s.3], (0..<4).map { LatentGenerator.draw(seed: 9, index: UInt64($0)) })
    }

    func editTraining(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var c = Container(good())
        edit(&c.sections[c.section("OPT ")].raw)
        return c.encode()
    }

    func testImagesPerEpochIsReadAsAU64() {
        expectRefused(editTraining { $0[100] = 1 }, "images per epoch is 4295027296, more than the limit")
    }

    func testTrainingBlockLength() throws {
        expectRefused(editTraining { $0[0] = 120 }, "training block is 120 bytes, less than 128")
        // A longer block (a newer minor version's fields): the reader skips the extra bytes and
        // finds the moment tensors through the table.
        var c = Container(good())
        let opt = c.section("OPT ")
        c.sections[opt].raw.insert(contentsOf: Array(repeating: 0x5A, count: 64), at: 128)
        c.sections[opt].raw[0] = 192
        for i in c.tensors.indices where c.tensors[i].section == Container.tag("OPT ") { c.tensors[i].offset += 64 }
        try expectSameAsGood(c.encode())
    }

    // MARK: 1.5 history

    func testHistoryExtraColumnsAreDroppedFewerAreRefused() throws {
        var c = Container(good())
        let h = c.section("HIST")
        var w = ByteWriter()
        w.u32(2); w.u32(9)
        for row in sampleState().checkpointContents.history { for v in row { w.f64(v) }; w.f64(-1) }
        c.sections[h].raw = w.bytes
        try expectSameAsGood(c.encode())
        c.sections[h].raw[4] = 7
        expectRefused(c.encode(), "history has 7 columns, fewer than 8")
    }
}
