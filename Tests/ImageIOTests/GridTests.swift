import XCTest
@testable import ImageIO

final class GridTests: XCTestCase {
    func testLayoutExamples() {
        let expected: [(Int, Int, Int)] = [
            (1, 1, 1), (2, 2, 1), (3, 2, 2), (5, 3, 2), (7, 4, 2), (10, 5, 2), (12, 4, 3),
            (16, 4, 4), (64, 8, 8), (100, 10, 10), (101, 13, 8),
        ]
        for (n, columns, rows) in expected {
            let l = Grid.layout(count: n)
            XCTAssertEqual(l.columns, columns, "columns for \(n)")
            XCTAssertEqual(l.rows, rows, "rows for \(n)")
        }
        XCTAssertTrue(Grid.layout(count: 0) == (0, 0))
        XCTAssertTrue(Grid.layout(count: -3) == (0, 0))
    }

    func testLayoutInvariants() {
        for n in 1...2000 {
            let (c, r) = Grid.layout(count: n)
            XCTAssertGreaterThanOrEqual(c, r, "n = \(n)")
            XCTAssertGreaterThanOrEqual(c * r, n, "n = \(n)")
            XCTAssertLessThan(c * (r - 1), n, "a whole empty row for n = \(n)")
            XCTAssertLessThanOrEqual(2 * c, 5 * r, "aspect above 2.5 for n = \(n)")
            let k = Int(Double(n).squareRoot())
            if k * k == n { XCTAssertTrue((c, r) == (k, k), "perfect square \(n)") }
        }
    }

    func testComposePlacesTilesAndSeparators() {
        // Three 2x2 tiles -> 2x2 layout, one empty cell; gap 1, scale 2.
        let tiles: [[UInt8]] = [[10, 11, 12, 13], [20, 21, 22, 23], [30, 31, 32, 33]]
        let image = Grid.compose(tiles, tileWidth: 2, tileHeight: 2, gap: 1, scale: 2)
        XCTAssertEqual(image.width, 2 * 4 + 3)
        XCTAssertEqual(image.height, 2 * 4 + 3)
        XCTAssertEqual(image.pixels.count, 121)

        // Expected image built by hand: cell (col, row) starts at 1 + 5 * col.
        var expected = [UInt8](repeating: 64, count: 121)
        for (index, tile) in tiles.enumerated() {
            let ox = 1 + 5 * (index % 2), oy = 1 + 5 * (index / 2)
            for y in 0..<4 { for x in 0..<4 { expected[(oy + y) * 11 + ox + x] = tile[(y / 2) * 2 + x / 2] } }
        }
        XCTAssertEqual(image.pixels, expected)

        // Spot checks that read naturally.
        XCTAssertEqual(image.pixel(x: 0, y: 0), 64)     // border
        XCTAssertEqual(image.pixel(x: 1, y: 1), 10)     // tile 0, top-left, upscaled 2x2
        XCTAssertEqual(image.pixel(x: 2, y: 2), 10)
        XCTAssertEqual(image.pixel(x: 3, y: 1), 11)
        XCTAssertEqual(image.pixel(x: 4, y: 4), 13)
        XCTAssertEqual(image.pixel(x: 5, y: 1), 64)     // gap between columns
        XCTAssertEqual(image.pixel(x: 6, y: 1), 20)     // tile 1
        XCTAssertEqual(image.pixel(x: 1, y: 6), 30)     // tile 2, second row
        XCTAssertEqual(image.pixel(x: 8, y: 8), 64)     // empty cell
    }

    func testComposeWithoutGapOrScaling() {
        let tiles: [[UInt8]] = (0..<4).map { t in (0..<6).map { UInt8(t * 10 + $0) } }   // 3x2 tiles
        let image = Grid.compose(tiles, tileWidth: 3, tileHeight: 2, gap: 0, scale: 1)
        XCTAssertEqual(image.width, 6)
        XCTAssertEqual(image.height, 4)
        XCTAssertEqual(image.pixels, [0, 1, 2, 10, 11, 12,
                                      3, 4, 5, 13, 14, 15,
                                      20, 21, 22, 30, 31, 32,
                                      23, 24, 25, 33, 34, 35])
    }

    func testComposeHundredTilesAndEmptyInput() {
        let tiles = (0..<100).map { [UInt8](repeating: UInt8($0), count: 28 * 28) }
        let image = Grid.compose(tiles, tileWidth: 28, tileHeight: 28)
        XCTAssertEqual(image.width, 10 * 28 + 11 * 2)
        XCTAssertEqual(image.height, 10 * 28 + 11 * 2)
        // Tile 57 is in row 5, column 7.
        XCTAssertEqual(image.pixel(x: 2 + 7 * 30 + 13, y: 2 + 5 * 30 + 27), 57)

        let empty = Grid.compose([], tileWidth: 28, tileHeight: 28, gap: 3)
        XCTAssertGreaterThan(empty.width * empty.height, 0)
        XCTAssertTrue(empty.pixels.allSatisfy { $0 == 64 })
    }

    func testComposeFloatTiles() {
        let tiles: [[Float]] = [[0, 0.5, 1, 2], [-1, .nan, 0.25, 1]]
        let image = Grid.compose(intensities: tiles, tileWidth: 2, tileHeight: 2, gap: 1, background: 7)
        XCTAssertEqual(image.width, 7)
        XCTAssertEqual(image.height, 4)
        XCTAssertEqual(image.pixel(x: 0, y: 0), 7)
        XCTAssertEqual([image.pixel(x: 1, y: 1), image.pixel(x: 2, y: 1), image.pixel(x: 1, y: 2), image.pixel(x: 2, y: 2)],
                       [0, 128, 255, 255])
        XCTAssertEqual([image.pixel(x: 4, y: 1), image.pixel(x: 5, y: 1), image.pixel(x: 4, y: 2), image.pixel(x: 5, y: 2)],
                       [0, 0, 64, 255])
    }
}
