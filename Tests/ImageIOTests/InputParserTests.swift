import XCTest
@testable import ImageIO

/// The input readers: good files read back exactly, and every bad header or length is refused
/// with the file and the field in the message.
final class InputParserTests: XCTestCase {
    func digit() -> GrayImage { GrayImage(width: 28, height: 28, pixels: (0..<784).map { UInt8(($0 * 37) % 256) }) }

    func assertRefused(_ problemPart: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do { try body(); XCTFail("accepted; expected a refusal mentioning \(problemPart)", file: file, line: line) } catch let e as InputError {
            XCTAssertEqual(e.path, "x.in", file: file, line: line)
            XCTAssertTrue(e.problem.contains(problemPart), "\(e.problem) lacks \(problemPart)", file: file, line: line)
        } catch { XCTFail("\(error)", file: file, line: line) }
    }

    // MARK: PNG

    func testPNGRoundTripOfOurEncoder() throws {
        let g = digit()
        XCTAssertEqual(try PNGDecoder.decode(PNG.encode(g), path: "x.in"), g)   // every filter type occurs in this image
    }

    func testPNGRGBBecomesLuma() throws {
        let rgb = RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 10, 20, 30])
        let g = try PNGDecoder.decode(PNG.encode(rgb), path: "x.in")
        XCTAssertEqual(g.pixels, [76, 18])   // (299*255 + 500)/1000, (2990+11740+3420+500)/1000
    }

    func testPNGRefusals() {
        let good = PNG.encode(digit())
        assertRefused("bad signature") { _ = try PNGDecoder.decode([0x89] + Array(good.dropFirst(2)), path: "x.in") }
        var crc = good; crc[20] ^= 1
        assertRefused("IHDR: CRC mismatch") { _ = try PNGDecoder.decode(crc, path: "x.in") }
        assertRefused("truncated") { _ = try PNGDecoder.decode(Array(good.prefix(good.count - 20)), path: "x.in") }
        var depth = good; depth[24] = 16
        depth.replaceSubrange(29..<33, with: crcBytes(Array(depth[12..<29])))
        assertRefused("bit depth 16") { _ = try PNGDecoder.decode(depth, path: "x.in") }
        var inter = good; inter[28] = 1
        inter.replaceSubrange(29..<33, with: crcBytes(Array(inter[12..<29])))
        assertRefused("interlaced") { _ = try PNGDecoder.decode(inter, path: "x.in") }
    }

    func crcBytes(_ b: [UInt8]) -> [UInt8] {
        var c: UInt32 = 0xFFFF_FFFF
        for x in b { c ^= UInt32(x); for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 } }
        c ^= 0xFFFF_FFFF
        return [UInt8(c >> 24), UInt8((c >> 16) & 255), UInt8((c >> 8) & 255), UInt8(c & 255)]
    }

    // MARK: PGM

    func testPGMBinaryAndASCIIWithComments() throws {
        let g = digit()
        XCTAssertEqual(try PGM.decode(Array("P5\n# made by hand\n28 28\n255\n".utf8) + g.pixels, path: "x.in"), g)
        let a = try PGM.decode(Array("P2 2 1 # c\n 15\n0 15\n".utf8), path: "x.in")
        XCTAssertEqual(a.pixels, [0, 255])   // maxval 15 scaled to 255
    }

    func testPGMRefusals() {
        assertRefused("P5 or P2") { _ = try PGM.decode(Array("P6\n1 1\n255\n\0\0\0".utf8), path: "x.in") }
        assertRefused("no maxval") { _ = try PGM.decode(Array("P5\n28 28\n".utf8), path: "x.in") }
        assertRefused("maxval 65535") { _ = try PGM.decode(Array("P5\n1 1\n65535\n\0\0".utf8), path: "x.in") }
        assertRefused("truncated") { _ = try PGM.decode(Array("P5\n28 28\n255\n".utf8) + [1, 2, 3], path: "x.in") }
        assertRefused("bytes after") { _ = try PGM.decode(Array("P5\n1 1\n255\n".utf8) + [1, 2], path: "x.in") }
        assertRefused("above maxval") { _ = try PGM.decode(Array("P5\n1 1\n9\n".utf8) + [10], path: "x.in") }
        assertRefused("width") { _ = try PGM.decode(Array("P5\nx".utf8), path: "x.in") }
    }

    // MARK: IDX

    func idx(_ n: Int, _ r: Int, _ c: Int, extra: Int = 0) -> [UInt8] {
        [0, 0, 8, 3] + [n, r, c].flatMap { v in [24, 16, 8, 0].map { UInt8((v >> $0) & 255) } } + [UInt8](repeating: 7, count: n * r * c + extra)
    }

    func testIDX() throws {
        let s = try IDX.decodeImages(idx(3, 28, 28), path: "x.in")
        XCTAssertEqual(s.images.count, 3); XCTAssertEqual(s.width, 28)
        assertRefused("truncated") { _ = try IDX.decodeImages(Array(idx(3, 28, 28).dropLast()), path: "x.in") }
        assertRefused("bytes after") { _ = try IDX.decodeImages(idx(3, 28, 28, extra: 1), path: "x.in") }
        assertRefused("labels file") { _ = try IDX.decodeImages([0, 0, 8, 1, 0, 0, 0, 1, 5], path: "x.in") }
        assertRefused("element type") { _ = try IDX.decodeImages([0, 0, 9, 3] + idx(1, 1, 1).dropFirst(4), path: "x.in") }
        assertRefused("count is 0") { _ = try IDX.decodeImages(idx(0, 28, 28), path: "x.in") }
    }

    // MARK: npy

    func npy(_ header: String, data: [Float], version: UInt8 = 1) -> [UInt8] {
        var h = header
        let pre = version == 1 ? 10 : 12
        while (pre + h.utf8.count + 1) % 16 != 0 { h += " " }
        h += "\n"
        let n = h.utf8.count
        let len: [UInt8] = version == 1 ? [UInt8(n & 255), UInt8(n >> 8)] : [UInt8(n & 255), UInt8(n >> 8), 0, 0]
        return NPY.magic + [version, 0] + len + Array(h.utf8) + data.flatMap { v in [0, 8, 16, 24].map { UInt8((v.bitPattern >> $0) & 255) } }
    }

    func testNPYReadsWhatNumPyWrites() throws {
        let v = (0..<128).map { Float($0) * 0.5 - 3 }
        let a = try NPY.readFloat32(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64), }", data: v), columns: 64, path: "x.in")
        XCTAssertEqual(a.rows, 2); XCTAssertEqual(a.values, v)
        let b = try NPY.readFloat32(npy("{'shape': (2, 64), 'fortran_order': False, 'descr': '<f4'}", data: v, version: 2), columns: 64, path: "x.in")
        XCTAssertEqual(b.values, v)
    }

    func testNPYRefusalsNameTheField() {
        let v = [Float](repeating: 0, count: 128)
        func read(_ h: String, _ d: [Float] = [Float](repeating: 0, count: 128)) throws { _ = try NPY.readFloat32(npy(h, data: d), columns: 64, path: "x.in") }
        assertRefused("descr is '<f8'") { try read("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 64), }") }
        assertRefused("descr is '>f4'") { try read("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 64), }") }
        assertRefused("fortran_order is True") { try read("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 64), }") }
        assertRefused("32 columns") { try read("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 32), }") }
        assertRefused("not (N, 64)") { try read("{'descr': '<f4', 'fortran_order': False, 'shape': (128,), }") }
        assertRefused("N = 0") { try read("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 64), }", []) }
        assertRefused("needs 1024") { try read("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 64), }") }
        assertRefused("keys") { try read("{'descr': '<f4', 'shape': (2, 64), }") }
        assertRefused("appears twice") { try read("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 64), }") }
        assertRefused("not a dict") { try read("['descr']") }
        assertRefused("not finite") { try read("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64), }", v.enumerated().map { $0.0 == 70 ? .nan : $0.1 }) }
        let good = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64), }", data: v)
        assertRefused("magic") { _ = try NPY.readFloat32([0x93] + Array("NUMPX".utf8) + good.dropFirst(6), columns: 64, path: "x.in") }
        var ver = good; ver[6] = 4
        assertRefused("version 4.0") { _ = try NPY.readFloat32(ver, columns: 64, path: "x.in") }
        var long = good; long[8] = 0xF0; long[9] = 0xFF
        assertRefused("header length") { _ = try NPY.readFloat32(long, columns: 64, path: "x.in") }
        var mis = good; mis[8] &+= 1
        assertRefused("multiple of 16") { _ = try NPY.readFloat32(mis, columns: 64, path: "x.in") }
    }

    func testNPYWriterHeaderIsAligned() {
        let b = NPY.encode(bytes: [1, 2, 3, 4], shape: [1, 2, 2])
        let n = Int(b[8]) | Int(b[9]) << 8
        XCTAssertEqual((10 + n) % 64, 0)
        XCTAssertTrue(String(decoding: b[10..<(10 + n)], as: UTF8.self).hasPrefix("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2), }"))
        XCTAssertEqual(Array(b.suffix(4)), [1, 2, 3, 4])
    }

    func testGridRows() {
        let g = Grid.rows([[[1, 1, 1, 1]], [[2, 2, 2, 2], [3, 3, 3, 3]]], tileWidth: 2, tileHeight: 2, gap: 1)
        XCTAssertEqual(g.width, 7); XCTAssertEqual(g.height, 7)
        XCTAssertEqual(g.pixel(x: 1, y: 1), 1); XCTAssertEqual(g.pixel(x: 4, y: 1), Grid.separatorGray)
        XCTAssertEqual(g.pixel(x: 4, y: 4), 3)
    }
}
