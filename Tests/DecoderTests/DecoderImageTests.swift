import Checkpoint
import Foundation
import VAEDecoder
import XCTest

/// Every way a decoder image can be wrong is refused with its own error, before anything in it
/// is trusted.
final class DecoderImageTests: XCTestCase {
    var good: [UInt8] = []

    override func setUpWithError() throws {
        good = try CheckpointReader.readDecoderImage(Repo.checkpoint).image
    }

    func load(_ bytes: [UInt8], offset: Int = 0) -> DecoderError? {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + 16, alignment: 64)
        defer { buf.deallocate() }
        let region = UnsafeMutableRawBufferPointer(rebasing: buf[offset..<(offset + bytes.count)])
        region.copyBytes(from: bytes)
        do { _ = try DecoderModel(image: UnsafeRawBufferPointer(region)); return nil } catch { return error }
    }

    /// Sets a u32 field and recomputes the CRC, so that the check under test is the one that fires.
    func patched(_ offset: Int, _ value: UInt32, fixCRC: Bool = true) -> [UInt8] {
        var b = good
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<4 { b[offset + i] = $0[i] } }
        if fixCRC {
            let crc = b[16...].withUnsafeBytes { CRC32.checksum($0) }
            withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { b[12 + i] = $0[i] } }
        }
        return b
    }

    func layerField(_ layer: Int, _ field: Int) -> Int { 64 + 48 * layer + field }

    func testGoodImageLoads() {
        XCTAssertNil(load(good))
    }

    func testCRC32CheckValue() {
        let s = Array("123456789".utf8)
        XCTAssertEqual(s.withUnsafeBytes { CRC32.checksum($0) }, 0xCBF4_3926)
    }

    func testRefusals() {
        XCTAssertEqual(load(patched(0, 0x4445_4157, fixCRC: false)), .badMagic)
        XCTAssertEqual(load(patched(4, 2, fixCRC: false)), .unsupportedVersion)
        XCTAssertEqual(load(Array(good.prefix(40))), .truncated)
        XCTAssertEqual(load(Array(good.dropLast(4))), .truncated)
        var flipped = good; flipped[good.count / 2] ^= 0x40
        XCTAssertEqual(load(flipped), .checksumMismatch)
        XCTAssertEqual(load(patched(16, 7)), .unsupportedWeightType)
        XCTAssertEqual(load(patched(36, 9)), .tooManyLayers)
        XCTAssertEqual(load(patched(36, 0)), .inconsistentArchitecture)
        XCTAssertEqual(load(patched(layerField(0, 8), 65)), .exceedsCapacity)          // 65 output channels
        XCTAssertEqual(load(patched(layerField(1, 4), 12)), .inconsistentArchitecture) // chain broken
        XCTAssertEqual(load(patched(layerField(2, 20), 2)), .unsupportedLayer)        // stride 2
        XCTAssertEqual(load(patched(layerField(2, 24), 1)), .unsupportedLayer)        // padding 1
        XCTAssertEqual(load(patched(layerField(0, 28), 9)), .unsupportedLayer)        // unknown activation
        XCTAssertEqual(load(patched(layerField(0, 36), UInt32(good.count))), .badTensorOffset)
        XCTAssertEqual(load(patched(layerField(0, 36), 0xFFFF_FFF0)), .badTensorOffset)
        XCTAssertEqual(load(patched(layerField(0, 36), 0x8000_0001)), .badTensorOffset)
        XCTAssertEqual(load(patched(36, 0xFFFF_FFFF)), .tooManyLayers)
        XCTAssertEqual(load(patched(8, 0xFFFF_FFFF, fixCRC: false)), .truncated)
        XCTAssertEqual(load(patched(layerField(0, 36), 360)), .misaligned)
        XCTAssertEqual(load(patched(layerField(0, 36), 64)), .badTensorOffset)         // over the layer records
        // Layer 1's weights placed on top of layer 0's.
        let w0 = good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: layerField(0, 36), as: UInt32.self) }
        XCTAssertEqual(load(patched(layerField(1, 36), w0)), .badTensorOffset)
        XCTAssertEqual(load(patched(44, 27)), .inconsistentArchitecture)               // output side
        // Non-finite weights or biases in any layer (NaN, +inf, -inf, a signalling NaN).
        for (layer, field, bits) in [(0, 36, 0x7FC0_0000), (5, 36, 0xFF80_0000), (2, 40, 0x7F80_0000), (4, 36, 0x7F80_0001)] as [(Int, Int, UInt32)] {
            let at = Int(good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: layerField(layer, field), as: UInt32.self) })
            XCTAssertEqual(load(patched(at + 8, bits)), .nonFiniteWeight, "layer \(layer) field \(field)")
        }
        XCTAssertEqual(load(good, offset: 2), .misaligned)
        XCTAssertEqual(load([]), .truncated)
    }

    func testArenaChecks() throws {
        let img = UnsafeMutableRawBufferPointer.allocate(byteCount: good.count, alignment: 64)
        defer { img.deallocate() }
        img.copyBytes(from: good)
        let model = try DecoderModel(image: UnsafeRawBufferPointer(img))
        let need = Decoder.arenaBytes(for: model)
        XCTAssertLessThanOrEqual(need, Decoder.maxArenaBytes)
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: need + 8, alignment: 64)
        defer { arena.deallocate() }
        XCTAssertThrowsError(try Decoder(model: model, arena: UnsafeMutableRawBufferPointer(rebasing: arena[0..<(need - 4)]))) {
            XCTAssertEqual($0 as? DecoderError, .arenaTooSmall)
        }
        XCTAssertThrowsError(try Decoder(model: model, arena: UnsafeMutableRawBufferPointer(rebasing: arena[1..<(need + 1)]))) {
            XCTAssertEqual($0 as? DecoderError, .misaligned)
        }
        XCTAssertNoThrow(try Decoder(model: model, arena: UnsafeMutableRawBufferPointer(rebasing: arena[0..<need])))
    }

    func testSHA256Vectors() {
        func hex(_ s: String) -> String { sha256Hex(Array(s.utf8)) }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(sha256Hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
