// Tiling many small grayscale images (e.g. generated digits) into one picture.

public enum Grid {
    /// Separator / empty-cell grey used by `compose` unless told otherwise.
    public static let separatorGray: UInt8 = 64

    /// A near-square layout for `n` tiles, with `columns >= rows` and
    /// `columns * rows >= n`.
    ///
    /// Among layouts with `rows = 1...ceil(sqrt(n))`, `columns = max(rows, ceil(n / rows))`
    /// and an aspect ratio of at most 2.5 (columns / rows), it takes the one
    /// with the fewest empty cells, and of those the squarest. So perfect squares
    /// give k x k, and: 1 -> 1x1, 2 -> 2x1, 3 -> 2x2, 5 -> 3x2, 7 -> 4x2,
    /// 10 -> 5x2, 12 -> 4x3, 16 -> 4x4, 100 -> 10x10, 101 -> 13x8.
    /// `n <= 0` gives (0, 0).
    public static func layout(count n: Int) -> (columns: Int, rows: Int) {
        guard n > 0 else { return (0, 0) }
        var maxRows = Int(Double(n).squareRoot())
        while maxRows * maxRows < n { maxRows += 1 }       // ceil(sqrt(n)), exact for all Int
        var best: (columns: Int, rows: Int)? = nil
        for rows in 1...maxRows {
            let columns = max(rows, (n + rows - 1) / rows)
            guard 2 * columns <= 5 * rows else { continue }   // aspect <= 2.5
            if let b = best {
                let empty = columns * rows - n, bestEmpty = b.columns * b.rows - n
                if empty < bestEmpty || (empty == bestEmpty && columns - rows < b.columns - b.rows) {
                    best = (columns, rows)
                }
            } else {
                best = (columns, rows)
            }
        }
        // rows = ceil(sqrt(n)) always passes the aspect test, so best is set.
        return best ?? (maxRows, maxRows)
    }

    /// Composes `tiles` (each `tileWidth * tileHeight` gray bytes, row-major)
    /// into one image laid out by `layout(count:)`, filled row by row.
    ///
    /// Each tile is enlarged `scale` times (nearest neighbour). `gap` pixels of
    /// `background` separate neighbouring tiles and frame the whole grid; empty
    /// cells are filled with `background` too. The result is
    /// `columns * tileWidth * scale + (columns + 1) * gap` wide and likewise high.
    public static func compose(_ tiles: [[UInt8]], tileWidth: Int, tileHeight: Int,
                               gap: Int = 2, scale: Int = 1,
                               background: UInt8 = separatorGray) -> GrayImage {
        precondition(tileWidth > 0 && tileHeight > 0, "Grid.compose: tile size must be positive")
        precondition(gap >= 0 && scale >= 1, "Grid.compose: gap must be >= 0 and scale >= 1")
        for (i, t) in tiles.enumerated() {
            precondition(t.count == tileWidth * tileHeight,
                         "Grid.compose: tile \(i) has \(t.count) bytes, expected \(tileWidth * tileHeight)")
        }
        let (columns, rows) = layout(count: tiles.count)
        let cellW = tileWidth * scale, cellH = tileHeight * scale
        let width = max(1, columns * cellW + (columns + 1) * gap)
        let height = max(1, rows * cellH + (rows + 1) * gap)
        var image = GrayImage(width: width, height: height, fill: background)

        for (index, tile) in tiles.enumerated() {
            let originX = gap + (index % columns) * (cellW + gap)
            let originY = gap + (index / columns) * (cellH + gap)
            for y in 0..<cellH {
                let src = (y / scale) * tileWidth
                let dst = (originY + y) * width + originX
                for x in 0..<cellW {
                    image.pixels[dst + x] = tile[src + x / scale]
                }
            }
        }
        return image
    }

    /// Like `compose(_:tileWidth:tileHeight:gap:scale:background:)` for tiles of
    /// intensities in 0...1 (values are clamped; NaN becomes 0), mapped to 0...255
    /// with rounding.
    public static func compose(intensities tiles: [[Float]], tileWidth: Int, tileHeight: Int,
                               gap: Int = 2, scale: Int = 1,
                               background: UInt8 = separatorGray) -> GrayImage {
        let bytes = tiles.map { tile in
            tile.map { v -> UInt8 in
                if v.isNaN { return 0 }
                return UInt8((min(max(v, 0), 1) * 255).rounded())
            }
        }
        return compose(bytes, tileWidth: tileWidth, tileHeight: tileHeight,
                       gap: gap, scale: scale, background: background)
    }
}

extension Grid {
    /// Rows of tiles, each row its own line of the picture (originals above reconstructions, a
    /// linear strip above a spherical one): rows may differ in length; short rows leave
    /// `background`.
    public static func rows(_ rows: [[[UInt8]]], tileWidth: Int, tileHeight: Int,
                            gap: Int = 2, scale: Int = 1, background: UInt8 = separatorGray) -> GrayImage {
        let columns = max(1, rows.map(\.count).max() ?? 1)
        let cellW = tileWidth * scale, cellH = tileHeight * scale
        let width = columns * cellW + (columns + 1) * gap
        let height = max(1, rows.count * cellH + (rows.count + 1) * gap)
        var image = GrayImage(width: width, height: height, fill: background)
        for (r, row) in rows.enumerated() {
            for (c, tile) in row.enumerated() {
                precondition(tile.count == tileWidth * tileHeight, "Grid.rows: tile (\(r), \(c)) has \(tile.count) bytes")
                let ox = gap + c * (cellW + gap), oy = gap + r * (cellH + gap)
                for y in 0..<cellH {
                    for x in 0..<cellW { image.pixels[(oy + y) * width + ox + x] = tile[(y / scale) * tileWidth + x / scale] }
                }
            }
        }
        return image
    }
}
