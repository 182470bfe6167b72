// A small built-in bitmap font for plot labels and captions.
//
// Each glyph is 5 pixels wide and 9 rows tall: rows 0-6 sit on the baseline
// (capitals and digits are 7 rows high, lower case x-height is 5 rows) and
// rows 7-8 hold descenders (g j p q y , _). A glyph is written as 9 two-digit
// hex bytes, one per row from the top; bit 4 (0x10) is the leftmost column,
// bit 0 (0x01) the rightmost. For example '0' is
//
//     0E  .###.
//     11  #...#
//     13  #..##
//     15  #.#.#
//     19  ##..#
//     11  #...#
//     0E  .###.
//     00  .....
//     00  .....
//
// Text is set proportionally: a glyph advances by its inked width plus one
// pixel of spacing (a space advances 3 pixels), so "1.5" is not padded out.
// Characters outside printable ASCII (32...126) are drawn as '?'.

public enum BitmapFont {
    /// Glyph cell width in font pixels (before scaling).
    public static let glyphWidth = 5
    /// Rows from the top of the cell to the baseline (capital height).
    public static let ascent = 7
    /// Total glyph cell height in font pixels, including descenders.
    public static let glyphHeight = 9
    /// Horizontal gap between glyphs in font pixels.
    public static let spacing = 1
    /// Advance of a space character in font pixels.
    public static let spaceAdvance = 3

    /// Glyph rows for ASCII 32...126, in order.
    static let table: [String] = [
        "000000000000000000", // ' '
        "040404040400040000", // '!'
        "0A0A00000000000000", // '"'
        "0A0A1F0A1F0A0A0000", // '#'
        "040F140E051E040000", // '$'
        "181902040813030000", // '%'
        "0C12140815120D0000", // '&'
        "040408000000000000", // "'"
        "020408080804020000", // '('
        "080402020204080000", // ')'
        "0004150E1504000000", // '*'
        "0004041F0404000000", // '+'
        "00000000000C040800", // ','
        "0000000E0000000000", // '-'
        "00000000000C0C0000", // '.'
        "000102040810000000", // '/'
        "0E11131519110E0000", // '0'
        "040C040404040E0000", // '1'
        "0E11010204081F0000", // '2'
        "1F02040201110E0000", // '3'
        "02060A121F02020000", // '4'
        "1F101E0101110E0000", // '5'
        "0608101E11110E0000", // '6'
        "1F0102040808080000", // '7'
        "0E11110E11110E0000", // '8'
        "0E11110F01020C0000", // '9'
        "000C0C000C0C000000", // ':'
        "000C0C000C04080000", // ';'
        "020408100804020000", // '<'
        "00001F001F00000000", // '='
        "080402010204080000", // '>'
        "0E1101020400040000", // '?'
        "0E11010D15150E0000", // '@'
        "0E11111F1111110000", // 'A'
        "1E11111E11111E0000", // 'B'
        "0E11101010110E0000", // 'C'
        "1C12111111121C0000", // 'D'
        "1F10101E10101F0000", // 'E'
        "1F10101E1010100000", // 'F'
        "0E11101711110F0000", // 'G'
        "1111111F1111110000", // 'H'
        "0E04040404040E0000", // 'I'
        "0702020202120C0000", // 'J'
        "111214181412110000", // 'K'
        "1010101010101F0000", // 'L'
        "111B15151111110000", // 'M'
        "111119151311110000", // 'N'
        "0E11111111110E0000", // 'O'
        "1E11111E1010100000", // 'P'
        "0E11111115120D0000", // 'Q'
        "1E11111E1412110000", // 'R'
        "0F10100E01011E0000", // 'S'
        "1F0404040404040000", // 'T'
        "1111111111110E0000", // 'U'
        "11111111110A040000", // 'V'
        "1111111515150A0000", // 'W'
        "11110A040A11110000", // 'X'
        "11110A040404040000", // 'Y'
        "1F01020408101F0000", // 'Z'
        "0E08080808080E0000", // '['
        "001008040201000000", // '\\'
        "0E02020202020E0000", // ']'
        "040A11000000000000", // '^'
        "000000000000001F00", // '_'
        "080400000000000000", // '`'
        "00000E010F110F0000", // 'a'
        "1010161911111E0000", // 'b'
        "00000E1010110E0000", // 'c'
        "01010D1311110F0000", // 'd'
        "00000E111F100E0000", // 'e'
        "0609081C0808080000", // 'f'
        "00000F1111110F010E", // 'g'
        "101016191111110000", // 'h'
        "04000C0404040E0000", // 'i'
        "02000602020202120C", // 'j'
        "101012141814120000", // 'k'
        "0C04040404040E0000", // 'l'
        "00001A151515150000", // 'm'
        "000016191111110000", // 'n'
        "00000E1111110E0000", // 'o'
        "00001E1111111E1010", // 'p'
        "00000F1111110F0101", // 'q'
        "000016191010100000", // 'r'
        "00000F100E011E0000", // 's'
        "08081C080809060000", // 't'
        "0000111111130D0000", // 'u'
        "00001111110A040000", // 'v'
        "0000111115150A0000", // 'w'
        "0000110A040A110000", // 'x'
        "0000111111110F010E", // 'y'
        "00001F0204081F0000", // 'z'
        "020404080404020000", // '{'
        "040404040404040400", // '|'
        "080404020404080000", // '}'
        "000008150200000000", // '~'
    ]

    /// One glyph decoded: 9 row masks, plus the first inked column and inked width.
    struct Glyph {
        var rows: [UInt8]
        var firstColumn: Int
        var width: Int
    }

    static let glyphs: [Glyph] = table.map { hex in
        var rows: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            rows.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        let ink = rows.reduce(UInt8(0), |)
        if ink == 0 { return Glyph(rows: rows, firstColumn: 0, width: 0) }
        var first = 0
        while ink & (0x10 >> UInt8(first)) == 0 { first += 1 }
        var last = glyphWidth - 1
        while ink & (0x10 >> UInt8(last)) == 0 { last -= 1 }
        return Glyph(rows: rows, firstColumn: first, width: last - first + 1)
    }

    static func glyph(for scalar: Unicode.Scalar) -> Glyph {
        let v = scalar.value
        let code = (32...126).contains(v) ? Int(v) : Int(UInt8(ascii: "?"))
        return glyphs[code - 32]
    }

    static func advance(of glyph: Glyph) -> Int {
        glyph.width == 0 ? spaceAdvance : glyph.width + spacing
    }

    /// Width in pixels of `text` drawn at `scale` (no trailing spacing).
    public static func width(of text: String, scale: Int = 1) -> Int {
        var total = 0
        for scalar in text.unicodeScalars { total += advance(of: glyph(for: scalar)) }
        if let last = text.unicodeScalars.last, glyph(for: last).width > 0 { total -= spacing }
        return max(0, total) * scale
    }

    /// Height in pixels of one line of text at `scale`, including descenders.
    public static func height(scale: Int = 1) -> Int { glyphHeight * scale }

    /// Calls `plot(x, y)` for every inked pixel of `text` laid out left to right
    /// with the top-left of the glyph cells at (0, 0), each font pixel expanded
    /// to a `scale` x `scale` block.
    public static func forEachPixel(of text: String, scale: Int = 1, _ plot: (Int, Int) -> Void) {
        let s = max(1, scale)
        var penX = 0
        for scalar in text.unicodeScalars {
            let g = glyph(for: scalar)
            for (row, bits) in g.rows.enumerated() where bits != 0 {
                for col in 0..<glyphWidth where bits & (0x10 >> UInt8(col)) != 0 {
                    let x0 = (penX + col - g.firstColumn) * s, y0 = row * s
                    for dy in 0..<s { for dx in 0..<s { plot(x0 + dx, y0 + dy) } }
                }
            }
            penX += advance(of: g)
        }
    }

    /// Draws `text` into `image` with the top-left of its cell at (x, y).
    /// With `vertical` the text is rotated 90 degrees counter-clockwise and
    /// reads bottom to top; (x, y) is then the bottom-left corner of the run.
    /// Pixels outside the image are clipped.
    public static func draw(_ text: String, into image: inout RGBImage, x: Int, y: Int,
                            scale: Int = 1, color: (UInt8, UInt8, UInt8), vertical: Bool = false) {
        forEachPixel(of: text, scale: scale) { px, py in
            if vertical {
                image.setPixel(x: x + py, y: y - px, color)
            } else {
                image.setPixel(x: x + px, y: y + py, color)
            }
        }
    }

    /// Draws `text` into a grayscale image with the top-left of its cell at (x, y).
    public static func draw(_ text: String, into image: inout GrayImage, x: Int, y: Int,
                            scale: Int = 1, value: UInt8) {
        forEachPixel(of: text, scale: scale) { px, py in
            image.setPixel(x: x + px, y: y + py, value)
        }
    }
}
