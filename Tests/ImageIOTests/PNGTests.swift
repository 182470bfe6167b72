import XCTest
import CZlib
@testable import ImageIO

/// A PNG chunk as parsed back from the encoder's output.
struct ParsedChunk {
    var type: String
    var data: [UInt8]
    var storedCRC: UInt32
}

func readBigEndian32(_ bytes: [UInt8], at i: Int) -> UInt32 {
    UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
}

/// Splits a PNG file into chunks, failing the test on any structural problem.
func parseChunks(_ png: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [ParsedChunk] {
    var chunks: [ParsedChunk] = []
    var i = 8
    while i < png.count {
        guard i + 12 <= png.count else { XCTFail("truncated chunk header at \(i)", file: file, line: line); break }
        let length = Int(readBigEndian32(png, at: i))
        guard i + 12 + length <= png.count else { XCTFail("chunk overruns file at \(i)", file: file, line: line); break }
        let type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
        let data = Array(png[(i + 8)..<(i + 8 + length)])
        chunks.append(ParsedChunk(type: type, data: data, storedCRC: readBigEndian32(png, at: i + 8 + length)))
        i += 12 + length
    }
    XCTAssertEqual(i, png.count, "chunks do not end exactly at the end of the file", file: file, line: line)
    return chunks
}

/// Bitwise CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), independent of zlib.
func referenceCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// Inflates a zlib stream with zlib's uncompress, given the exact expected size.
func inflate(_ stream: [UInt8], expectedSize: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: expectedSize + 16)
    var outLength = uLongf(out.count)
    let status = stream.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            uncompress(dst.baseAddress, &outLength, src.baseAddress, uLong(stream.count))
        }
    }
    guard status == Z_OK else { return nil }
    return Array(out[0..<Int(outLength)])
}

/// Reverses the PNG scanline filters (written from the specification, not shared
/// with the encoder). Returns the raw rows and the filter type used per row.
func unfilter(_ data: [UInt8], width: Int, height: Int, bpp: Int) -> (pixels: [UInt8], types: [UInt8])? {
    let stride = width * bpp
    guard data.count == height * (stride + 1) else { return nil }
    var out = [UInt8](repeating: 0, count: height * stride)
    var types: [UInt8] = []
    for y in 0..<height {
        let type = data[y * (stride + 1)]
        types.append(type)
        for i in 0..<stride {
            let filtered = data[y * (stride + 1) + 1 + i]
            let a = i >= bpp ? Int(out[y * stride + i - bpp]) : 0
            let b = y > 0 ? Int(out[(y - 1) * stride + i]) : 0
            let c = (i >= bpp && y > 0) ? Int(out[(y - 1) * stride + i - bpp]) : 0
            var predictor: Int
            switch type {
            case 0: predictor = 0
            case 1: predictor = a
            case 2: predictor = b
            case 3: predictor = (a + b) / 2
            case 4:
                let p = a + b - c
                let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
            default: return nil
            }
            out[y * stride + i] = UInt8((Int(filtered) + predictor) & 0xFF)
        }
    }
    return (out, types)
}

/// Deterministic pseudo-random bytes (SplitMix64), so failures are reproducible.
struct TestRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }
}

final class PNGTests: XCTestCase {
    /// Decodes our own PNG output back to pixels, checking every structural rule on the way.
    func decode(_ png: [UInt8], width: Int, height: Int, colorType: UInt8,
                file: StaticString = #filePath, line: UInt = #line) -> (pixels: [UInt8], types: [UInt8])? {
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], file: file, line: line)
        let chunks = parseChunks(png, file: file, line: line)
        guard chunks.count >= 3 else { XCTFail("too few chunks", file: file, line: line); return nil }

        for c in chunks {
            XCTAssertEqual(c.storedCRC, referenceCRC32(Array(c.type.utf8) + c.data), "bad CRC in \(c.type)",
                           file: file, line: line)
        }
        // Layout: IHDR, then one or more consecutive IDAT, then IEND (empty).
        XCTAssertEqual(chunks.first?.type, "IHDR", file: file, line: line)
        XCTAssertEqual(chunks.last?.type, "IEND", file: file, line: line)
        XCTAssertEqual(chunks.last?.data.count, 0, file: file, line: line)
        let middle = chunks.dropFirst().dropLast()
        XCTAssertFalse(middle.isEmpty, file: file, line: line)
        XCTAssertTrue(middle.allSatisfy { $0.type == "IDAT" }, "\(middle.map(\.type))", file: file, line: line)

        let ihdr = chunks[0].data
        XCTAssertEqual(ihdr.count, 13, file: file, line: line)
        XCTAssertEqual(Int(readBigEndian32(ihdr, at: 0)), width, file: file, line: line)
        XCTAssertEqual(Int(readBigEndian32(ihdr, at: 4)), height, file: file, line: line)
        XCTAssertEqual(Array(ihdr[8...]), [8, colorType, 0, 0, 0], "depth, colour type, compression, filter, interlace",
                       file: file, line: line)

        let bpp = colorType == 2 ? 3 : 1
        let stream = middle.flatMap(\.data)
        guard let raw = inflate(stream, expectedSize: height * (width * bpp + 1)) else {
            XCTFail("zlib could not inflate the IDAT stream", file: file, line: line); return nil
        }
        XCTAssertEqual(raw.count, height * (width * bpp + 1), file: file, line: line)
        guard let result = unfilter(raw, width: width, height: height, bpp: bpp) else {
            XCTFail("bad filtered scanlines", file: file, line: line); return nil
        }
        return result
    }

    func testSignatureAndChunkLayoutGray() {
        let image = GrayImage(width: 3, height: 2, pixels: [0, 128, 255, 10, 20, 30])
        let png = PNG.encode(image)
        let decoded = decode(png, width: 3, height: 2, colorType: 0)
        XCTAssertEqual(decoded?.pixels, image.pixels)
        // Exact chunk type sequence for a small image.
        XCTAssertEqual(parseChunks(png).map(\.type), ["IHDR", "IDAT", "IEND"])
    }

    func testIENDIsTheStandardTrailer() {
        // Every PNG ends with the same 12 bytes: length 0, "IEND", CRC AE 42 60 82.
        let png = PNG.encode(GrayImage(width: 1, height: 1, pixels: [7]))
        XCTAssertEqual(Array(png.suffix(12)), [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
    }

    func testReferenceCRCMatchesKnownValue() {
        XCTAssertEqual(referenceCRC32(Array("123456789".utf8)), 0xCBF4_3926)
    }

    func testRGBRoundTrip() {
        var image = RGBImage(width: 5, height: 4, fill: (1, 2, 3))
        image.setPixel(x: 0, y: 0, (255, 0, 0))
        image.setPixel(x: 4, y: 3, (0, 0, 255))
        image.setPixel(x: 2, y: 1, (9, 99, 199))
        let decoded = decode(PNG.encode(image), width: 5, height: 4, colorType: 2)
        XCTAssertEqual(decoded?.pixels, image.pixels)
    }

    func testRandomImagesRoundTrip() {
        var rng = TestRNG(state: 42)
        for (w, h) in [(1, 1), (1, 7), (7, 1), (13, 11), (64, 3)] {
            let gray = GrayImage(width: w, height: h, pixels: rng.bytes(w * h))
            XCTAssertEqual(decode(PNG.encode(gray), width: w, height: h, colorType: 0)?.pixels, gray.pixels, "\(w)x\(h) gray")
            let rgb = RGBImage(width: w, height: h, pixels: rng.bytes(3 * w * h))
            XCTAssertEqual(decode(PNG.encode(rgb), width: w, height: h, colorType: 2)?.pixels, rgb.pixels, "\(w)x\(h) rgb")
        }
    }

    func testSmoothImagesUseOtherFiltersAndStillRoundTrip() {
        // Gradients and repeated rows make Sub/Up/Average/Paeth win over None,
        // so this exercises the unfiltering of every predictor.
        var seen = Set<UInt8>()
        let w = 40, h = 30
        var images: [GrayImage] = []
        images.append(GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { UInt8(($0 % w) * 6) }))        // horizontal ramp
        images.append(GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { UInt8(($0 / w) * 8) }))        // vertical ramp
        images.append(GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { UInt8(($0 % w + $0 / w) * 3) })) // diagonal
        images.append(GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { i in
            let x = i % w, y = i / w
            return UInt8((x * x + y * y) / 14)
        }))
        for image in images {
            guard let decoded = decode(PNG.encode(image), width: w, height: h, colorType: 0) else { continue }
            XCTAssertEqual(decoded.pixels, image.pixels)
            seen.formUnion(decoded.types)
        }
        XCTAssertTrue(seen.contains { $0 != 0 }, "expected some rows filtered with Sub/Up/Average/Paeth, saw \(seen)")
    }

    func testLargeImageSplitsIntoSeveralIDATChunks() {
        var rng = TestRNG(state: 7)
        let w = 200, h = 150   // 90 000 random bytes: incompressible, more than one 64 KiB IDAT
        let image = RGBImage(width: w, height: h, pixels: rng.bytes(3 * w * h))
        let png = PNG.encode(image)
        let idats = parseChunks(png).filter { $0.type == "IDAT" }
        XCTAssertGreaterThan(idats.count, 1)
        XCTAssertTrue(idats.dropLast().allSatisfy { $0.data.count == PNG.maxIDATLength })
        XCTAssertEqual(decode(png, width: w, height: h, colorType: 2)?.pixels, image.pixels)
    }

    func testFlatImageCompressesWell() {
        let image = GrayImage(width: 256, height: 256, fill: 200)
        let png = PNG.encode(image)
        XCTAssertLessThan(png.count, 1000)
        XCTAssertEqual(decode(png, width: 256, height: 256, colorType: 0)?.pixels, image.pixels)
    }

    func testWriteToFile() throws {
        let path = NSTemporaryDirectory() + "imageio-test-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let image = GrayImage(width: 2, height: 2, pixels: [1, 2, 3, 4])
        try PNG.write(image, to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual([UInt8](data), PNG.encode(image))
    }

    func testImagePixelHelpers() {
        var rgb = RGBImage(width: 3, height: 2, fill: (10, 20, 30))
        XCTAssertEqual(rgb.pixels.count, 18)
        XCTAssertTrue(rgb.pixel(x: 2, y: 1) == (10, 20, 30))
        rgb.setPixel(x: 1, y: 1, (1, 2, 3))
        XCTAssertEqual(Array(rgb.pixels[12..<15]), [1, 2, 3])
        rgb.setPixel(x: -1, y: 0, (0, 0, 0))   // clipped, no effect
        rgb.setPixel(x: 3, y: 0, (0, 0, 0))
        XCTAssertEqual(rgb.count(of: (10, 20, 30)), 5)
        rgb.fillRect(x: -5, y: -5, width: 7, height: 6, (9, 9, 9))   // clipped to (0,0)-(1,0)
        XCTAssertEqual(rgb.count(of: (9, 9, 9)), 2)

        var gray = GrayImage(width: 2, height: 2, fill: 5)
        gray.setPixel(x: 1, y: 0, 77)
        gray.setPixel(x: 2, y: 0, 99)   // clipped
        XCTAssertEqual(gray.pixels, [5, 77, 5, 5])
        XCTAssertEqual(gray.pixel(x: 1, y: 0), 77)
    }
}
