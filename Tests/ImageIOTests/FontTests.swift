import XCTest
@testable import ImageIO

final class FontTests: XCTestCase {
    func testTableCoversPrintableASCII() {
        XCTAssertEqual(BitmapFont.table.count, 95)
        for (i, hex) in BitmapFont.table.enumerated() {
            XCTAssertEqual(hex.count, 2 * BitmapFont.glyphHeight, "glyph \(i + 32)")
            XCTAssertEqual(BitmapFont.glyphs[i].rows.count, BitmapFont.glyphHeight)
            XCTAssertTrue(BitmapFont.glyphs[i].rows.allSatisfy { $0 < 0x20 }, "glyph \(i + 32) wider than 5 columns")
        }
        // Every character but space has ink; all glyphs are distinct.
        for code in 33...126 {
            XCTAssertGreaterThan(BitmapFont.glyphs[code - 32].width, 0, "no ink for \(UnicodeScalar(UInt8(code)))")
        }
        XCTAssertEqual(Set(BitmapFont.table).count, 95)
    }

    func testKnownGlyphShape() {
        var ink = Set<[Int]>()
        BitmapFont.forEachPixel(of: "T") { x, y in ink.insert([x, y]) }
        // Top bar of 5 pixels plus a 6-pixel stem in column 2.
        XCTAssertEqual(ink, Set((0..<5).map { [$0, 0] } + (1..<7).map { [2, $0] }))
    }

    func testWidthAndScaling() {
        XCTAssertEqual(BitmapFont.width(of: ""), 0)
        XCTAssertEqual(BitmapFont.width(of: "A"), 5)
        XCTAssertEqual(BitmapFont.width(of: "AB"), 11)
        XCTAssertEqual(BitmapFont.width(of: "AB", scale: 3), 33)
        XCTAssertLessThan(BitmapFont.width(of: "1.5"), BitmapFont.width(of: "888"))   // proportional
        var count1 = 0, count2 = 0
        BitmapFont.forEachPixel(of: "Loss 0.25") { _, _ in count1 += 1 }
        BitmapFont.forEachPixel(of: "Loss 0.25", scale: 2) { _, _ in count2 += 1 }
        XCTAssertEqual(count2, 4 * count1)
        // Non-ASCII falls back to '?'.
        XCTAssertEqual(BitmapFont.width(of: "é"), BitmapFont.width(of: "?"))
    }

    func testDrawStaysInsideMeasuredBox() {
        let text = "Ag_(y)|,"
        let w = BitmapFont.width(of: text, scale: 2), h = BitmapFont.height(scale: 2)
        var image = RGBImage(width: w + 20, height: h + 20, fill: (255, 255, 255))
        BitmapFont.draw(text, into: &image, x: 10, y: 10, scale: 2, color: (0, 0, 0))
        var minX = Int.max, maxX = Int.min, minY = Int.max, maxY = Int.min
        for y in 0..<image.height { for x in 0..<image.width where image.pixel(x: x, y: y) == (0, 0, 0) {
            minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
        } }
        XCTAssertEqual(minX, 10)
        XCTAssertEqual(maxX, 10 + w - 1)
        XCTAssertGreaterThanOrEqual(minY, 10)
        XCTAssertEqual(maxY, 10 + h - 1)   // '_' and ',' reach the descender rows

        // Vertical text occupies a column glyphHeight wide and reads upwards from y.
        var v = RGBImage(width: 40, height: 60, fill: (255, 255, 255))
        BitmapFont.draw("Hi", into: &v, x: 5, y: 50, color: (0, 0, 0), vertical: true)
        for y in 0..<60 { for x in 0..<40 where v.pixel(x: x, y: y) == (0, 0, 0) {
            XCTAssertTrue((5..<14).contains(x) && (50 - BitmapFont.width(of: "Hi") + 1...50).contains(y), "(\(x), \(y))")
        } }
    }
}
