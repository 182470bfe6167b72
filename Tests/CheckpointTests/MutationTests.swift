// Damaged and forged inputs, as an attacker or a failing disk makes them: seeded truncations, bit
// flips with and without a re-signed CRC, random payload flips and garbage, of the shipped
// checkpoint and of its float32 and int8 decoder images. Every one must be refused with a clean
// error (the right code where one is known) or read to exactly what the original reads to;
// never a trap, never a silently different model. The counts are docs/reliability.md's figures
// (printed as "mutations: ...").
@testable import Checkpoint
import Foundation
import VAEDecoder
import XCTest

final class MutationTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let checkpointPath = root.appendingPathComponent("checkpoints/vae-mnist.vaeckpt").path

    /// SplitMix64: the same mutations on every run.
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func u32(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
    static func put32(_ b: inout [UInt8], _ o: Int, _ v: UInt32) { for i in 0..<4 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }

    /// Loads an image (aligned copy); the error, or the first 8 digits of seed 42.
    func decode(_ bytes: [UInt8]) -> Result<[UInt8], DecoderError> {
        do {
            let rt = try LoadedDecoder(image: bytes)
            var px = [UInt8](repeating: 0, count: 8 * rt.model.pixelCount)
            px.withUnsafeMutableBufferPointer { p in
                for i in 0..<8 { rt.generate(seed: 42, index: UInt64(i), pixels: p.baseAddress! + i * rt.model.pixelCount) }
            }
            return .success(px)
        } catch { return .failure(error) }
    }

    static func resignImage(_ b: inout [UInt8]) {
        guard b.count >= 64 else { return }
        let total = u32(b, 8)
        guard total >= 16, total <= b.count else { return }
        put32(&b, 12, b[16..<total].withUnsafeBytes { CRC32.checksum($0) })
    }

    /// Fields of a decoder image whose change gives a different but valid model (an activation
    /// or its slope; an int8 image's latent scale or a clamp range): a flip there may decode to
    /// other digits. Any other accepted flip must decode to the original digits.
    func isSemanticField(_ offset: Int, int8: Bool, layers: Int) -> Bool {
        let record = int8 ? 64 : 48
        if int8 && (56..<64).contains(offset) { return true }             // latent scale, qmax
        if offset >= 64 && offset < 64 + layers * record {
            let f = (offset - 64) % record
            if (28..<36).contains(f) { return true }                      // activation, slope
            if int8 && (52..<64).contains(f) { return true }              // output zero point, clamp range
        }
        return false
    }

    func mutateImage(_ name: String, _ good: [UInt8], int8: Bool) throws {
        guard case .success(let want) = decode(good) else { return XCTFail("\(name): the original does not load") }
        let total = Self.u32(good, 8), layers = Self.u32(good, 36)
        let structure = 64 + layers * (int8 ? 64 : 48)
        var tried = 0, refused = 0, identical = 0, semantic = 0
        // Truncations at every length of the header and records, and every 97th after them.
        for k in Array(0..<structure) + Array(stride(from: structure, to: total, by: 97)) {
            tried += 1
            if case .failure(let e) = decode(Array(good.prefix(k))) { refused += 1; XCTAssertEqual(e, .truncated, "\(name) cut at \(k)") }
            else { XCTFail("\(name): cut at \(k) was accepted") }
        }
        // Every bit of the header and records: as is (the CRC must catch it), and re-signed.
        var wrongCode = 0
        for bit in 0..<(structure * 8) {
            var b = good; b[bit / 8] ^= 1 << UInt8(bit % 8)
            tried += 1
            switch decode(b) {
            case .failure(let e):
                refused += 1
                // A minor version of 2 or more (outside the CRC) makes the reader take the first
                // tensor's bytes for the extension record (docs/checkpoint-format.md 2.2): refused
                // by that record's checks.
                let minorFlip: [DecoderError] = [.checksumMismatch, .unsupportedVersion, .badTensorOffset, .misaligned, .badClassPriors, .truncated]
                let allowed: [DecoderError] = bit / 8 < 4 ? [.badMagic] : bit / 8 < 6 ? [.unsupportedVersion] : bit / 8 < 8 ? minorFlip : bit / 8 < 12 ? [.truncated, .checksumMismatch] : [.checksumMismatch]
                if !allowed.contains(e) { wrongCode += 1 }
            case .success(let px):
                // The minor version (bytes 6, 7) is outside the CRC on purpose: a newer minor
                // version reads as this one. Accepted, it must decode to the same digits.
                if (6..<8).contains(bit / 8) && px == want { identical += 1 }
                else { XCTFail("\(name): bit \(bit) flipped without a new CRC was accepted") }
            }
            Self.resignImage(&b)
            tried += 1
            switch decode(b) {
            case .failure: refused += 1
            case .success(let px):
                if px == want { identical += 1 }
                else if isSemanticField(bit / 8, int8: int8, layers: layers) { semantic += 1 }
                else { XCTFail("\(name): re-signed flip of bit \(bit) (byte \(bit / 8)) decodes to other digits") }
            }
        }
        XCTAssertEqual(wrongCode, 0, "\(name): flips refused with an unexpected code")
        // Random flips in the tensors: the CRC catches every one; re-signed, they load and decode
        // (other weights) or are refused (a NaN or infinite weight), never trap.
        var rng = Rng(s: 0x5EED_0000 + UInt64(good.count))
        var payloadNonFinite = 0
        for _ in 0..<2000 {
            var b = good
            for _ in 0..<(1 + rng.below(4)) { let o = structure + rng.below(total - structure); b[o] ^= UInt8(1 << rng.below(8)) }
            tried += 1
            if case .failure(let e) = decode(b) { refused += 1; XCTAssertEqual(e, .checksumMismatch) } else { XCTFail("\(name): payload flip accepted without a new CRC") }
            Self.resignImage(&b)
            tried += 1
            if case .failure(let e) = decode(b) {
                refused += 1
                if e == .nonFiniteWeight { payloadNonFinite += 1 } else if !int8 { XCTFail("\(name): re-signed payload flip refused with \(e)") }
            }
        }
        // Garbage: random bytes of random lengths, half of them with the magic and a re-signed CRC.
        for i in 0..<2000 {
            var b = (0..<rng.below(4096)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if i % 2 == 1, b.count >= 64 { b[0] = 0x56; b[1] = 0x41; b[2] = 0x45; b[3] = 0x44; b[4] = 1; b[5] = 0; Self.put32(&b, 8, UInt32(b.count)); Self.resignImage(&b) }
            tried += 1
            if case .failure = decode(b) { refused += 1 } else { XCTFail("\(name): garbage \(i) was accepted") }
        }
        print("mutations: \(name): \(tried) tried, \(refused) refused, \(identical) accepted with identical digits, \(semantic) accepted with a changed activation, slope, scale or clamp range; \(payloadNonFinite) re-signed payload flips refused as NaN/inf")
    }

    func testDecoderImageMutations() throws {
        try mutateImage("float32 image", CheckpointReader.readDecoderImage(Self.checkpointPath).image, int8: false)
    }

    func testInt8ImageMutations() throws {
        try mutateImage("int8 image", CheckpointReader.readDecoderImage(Self.checkpointPath, precision: .int8).image, int8: true)
    }

    /// What a checkpoint reads to, compared field by field (bit patterns for floats).
    func same(_ a: CheckpointContents, _ b: CheckpointContents) -> Bool {
        a.config == b.config && a.params.map(\.bitPattern) == b.params.map(\.bitPattern) && a.training == b.training
            && a.history.map { $0.map(\.bitPattern) } == b.history.map { $0.map(\.bitPattern) } && a.int8DecoderImage == b.int8DecoderImage
    }

    /// What differs, for a failure message.
    func diff(_ r: CheckpointContents, _ w: CheckpointContents) -> String {
        var d: [String] = []
        if r.config != w.config { d.append("config") }
        if r.params.map(\.bitPattern) != w.params.map(\.bitPattern) {
            let i = r.params.indices.first { $0 < w.params.count && r.params[$0].bitPattern != w.params[$0].bitPattern } ?? -1
            d.append("params (first at \(i))")
        }
        if r.training != w.training {
            if let a = r.training, let b = w.training {
                if a.adamM.map(\.bitPattern) != b.adamM.map(\.bitPattern) { d.append("adam.m") }
                if a.adamV.map(\.bitPattern) != b.adamV.map(\.bitPattern) { d.append("adam.v") }
                if a.epochsCompleted != b.epochsCompleted || a.steps != b.steps || a.rng != b.rng { d.append("training fields") }
            } else { d.append("training block present/absent") }
        }
        if r.history.map({ $0.map(\.bitPattern) }) != w.history.map({ $0.map(\.bitPattern) }) { d.append("history") }
        return d.joined(separator: ", ")
    }

    /// Which header entry a byte belongs to (tensor entries by name), for a failure message.
    static func field(at byte: Int, of file: [UInt8]) -> String {
        guard let h = try? CheckpointReader.parseHeader(file, path: "x") else { return "?" }
        let archLen = u32(file, 16)
        let sectionsAt = 16 + archLen
        let ns = u32(file, sectionsAt)
        if byte < sectionsAt { return "architecture block" }
        if byte < sectionsAt + 4 + 40 * ns { return "section entry \((byte - sectionsAt - 4) / 40)" }
        var pos = sectionsAt + 4 + 40 * ns + 4
        for t in h.tensors {
            let size = 8 + t.name.utf8.count + 4 * t.shape.count + 16
            if byte < pos + size { return "tensor \(t.name) entry, +\(byte - pos) of \(size)" }
            pos += size
        }
        return "header tail"
    }

    /// A whole checkpoint of a tiny model (4x4 images, latent 4, two decoder layers) with a
    /// training block and history: a header of under a kilobyte and a read of microseconds.
    static func tinyCheckpoint() -> [UInt8] {
        var c = ModelConfig(layers: [.init(1, 2, kernel: 2, activation: .leakyReLU, slope: 0.01), .init(2, 1, kernel: 2, activation: .sigmoid)])
        c.imageSize = 4; c.hidden = 2; c.latent = 4; c.view = (1, 2, 2)
        let n = ParamLayout(c).total
        let v = (0..<n).map { Float($0 % 17) / 16 - 0.5 }
        let t = TrainingBlock(epochsCompleted: 3, steps: 12, batchSize: 4, shardsPerBatch: 1, lr: 1e-3, beta1: 0.9, beta2: 0.999,
                              eps: 1e-8, seed: 7, rng: [1, 2, 3, 4], imagesPerEpoch: 16, adamM: v, adamV: v.map { $0 * $0 })
        return CheckpointWriter.encode(CheckpointContents(config: c, params: v, training: t, history: [[1, 0.5, 100, 20, 120, 101, 21, 122]]))
    }

    /// The format's rule for an unknown non-critical section: skipped. A flip in the tag of
    /// HIST or DEC8 makes it unknown, so the reader reads less (no history, no int8 decoder),
    /// never something else.
    func skippedOptional(_ r: CheckpointContents, _ want: CheckpointContents) -> Bool {
        r.config == want.config && r.params.map(\.bitPattern) == want.params.map(\.bitPattern) && r.training == want.training
            && (r.history.isEmpty || r.history.map { $0.map(\.bitPattern) } == want.history.map { $0.map(\.bitPattern) })
            && (r.int8DecoderImage == nil || r.int8DecoderImage == want.int8DecoderImage)
    }

    func testCheckpointMutations() throws {
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.checkpointPath)))
        let want = try CheckpointReader.read(bytes: good, path: "x")
        let H = Self.u32(good, 12)
        var tried = 0, refused = 0, identical = 0, skipped = 0
        func read(_ b: [UInt8]) -> CheckpointContents? { try? CheckpointReader.read(bytes: b, path: "x") }
        // Truncations at every offset of the header and the 16 bytes after it, and 64 seeded
        // lengths in the sections.
        var rng = Rng(s: 0xC4EC_0001)
        for k in Array(0...(H + 16)) + (0..<64).map({ _ in H + rng.below(good.count - H) }) {
            tried += 1
            if read(Array(good.prefix(k))) == nil { refused += 1 } else { XCTFail("checkpoint cut at \(k) was accepted") }
        }
        // Every bit of the header as is: the header CRC catches it.
        for bit in 0..<(H * 8) {
            var b = good; b[bit / 8] ^= 1 << UInt8(bit % 8)
            tried += 1
            if read(b) == nil { refused += 1 } else { XCTFail("header bit \(bit) flipped without a new CRC was accepted") }
        }
        // Re-signed (the header CRC made to match): the reader's own checks must refuse it, or it
        // must read to the same contents. One seeded bit of every header byte of the shipped
        // checkpoint (each accepted one costs a whole read), and every bit of a tiny one.
        func resigned(_ file: [UInt8], _ want: CheckpointContents, _ H: Int, _ bits: [Int], _ what: String) {
            for bit in bits {
                var b = file; b[bit / 8] ^= 1 << UInt8(bit % 8)
                let newH = Self.u32(b, 12)
                if newH >= 32, newH <= b.count { Self.put32(&b, newH - 4, Zlib.crc32(b[0..<(newH - 4)])) }
                tried += 1
                if let r = read(b) {
                    if same(r, want) { identical += 1 }
                    else if skippedOptional(r, want) { skipped += 1 }
                    else { XCTFail("\(what): re-signed flip of header bit \(bit) (byte \(bit / 8), \(Self.field(at: bit / 8, of: file))) reads to other contents: \(diff(r, want))") }
                } else { refused += 1 }
            }
        }
        resigned(good, want, H, (0..<(H - 4)).map { 8 * $0 + rng.below(8) }, "shipped")
        let tiny = Self.tinyCheckpoint()
        let tinyH = Self.u32(tiny, 12)
        resigned(tiny, try CheckpointReader.read(bytes: tiny, path: "tiny"), tinyH, Array(0..<((tinyH - 4) * 8)), "tiny")
        // Random flips in the compressed sections: each section's CRC catches them.
        for _ in 0..<200 {
            var b = good
            b[H + rng.below(good.count - H)] ^= UInt8(1 << rng.below(8))
            tried += 1
            if read(b) == nil { refused += 1 } else { XCTFail("a flip in the sections was accepted") }
        }
        print("mutations: checkpoint: \(tried) tried, \(refused) refused, \(identical) accepted reading to identical contents, \(skipped) accepted with an optional section (HIST or DEC8) skipped as unknown because its tag changed (headers \(H) and \(tinyH) bytes)")
    }
}
