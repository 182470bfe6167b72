/// Netpbm graymaps: P5 (binary) and P2 (ASCII), maxval 1 ... 255, scaled to 0 ... 255; `#`
/// comments in the header. 16-bit graymaps (maxval > 255) are refused, not guessed at.
public enum PGM {
    public static func decode(_ b: [UInt8], path: String) throws(InputError) -> GrayImage {
        func fail(_ s: String) -> InputError { InputError(path: path, problem: s) }
        guard b.count >= 2, b[0] == UInt8(ascii: "P"), b[1] == UInt8(ascii: "5") || b[1] == UInt8(ascii: "2") else {
            throw fail("not a PGM file (magic must be P5 or P2)")
        }
        let ascii = b[1] == UInt8(ascii: "2")
        var pos = 2
        func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 }
        func number(_ field: String) throws(InputError) -> Int {
            while pos < b.count {
                if isSpace(b[pos]) { pos += 1 } else if b[pos] == UInt8(ascii: "#") {
                    while pos < b.count, b[pos] != 10, b[pos] != 13 { pos += 1 }
                } else { break }
            }
            var v = 0, digits = 0
            while pos < b.count, b[pos] >= 48, b[pos] <= 57 {
                v = v * 10 + Int(b[pos] - 48); digits += 1; pos += 1
                if v > 1 << 24 { throw fail("PGM \(field) is too large") }
            }
            guard digits > 0 else { throw fail(pos >= b.count ? "truncated PGM header: no \(field)" : "PGM \(field) is not a number") }
            return v
        }
        let w = try number("width"), h = try number("height"), maxval = try number("maxval")
        guard w > 0, h > 0, w <= 4096, h <= 4096 else { throw fail("PGM size \(w)x\(h) is out of range") }
        guard maxval >= 1, maxval <= 255 else { throw fail("PGM maxval \(maxval) is not 1 ... 255 (16-bit graymaps are not supported)") }
        var px = [UInt8](repeating: 0, count: w * h)
        if ascii {
            for i in 0..<(w * h) {
                let v = try number("pixel \(i)")
                guard v <= maxval else { throw fail("PGM pixel \(i) is \(v), above maxval \(maxval)") }
                px[i] = UInt8((v * 255 + maxval / 2) / maxval)
            }
        } else {
            // Exactly one whitespace byte separates maxval from the raster.
            guard pos < b.count, isSpace(b[pos]) else { throw fail("truncated PGM header: no whitespace after maxval") }
            pos += 1
            guard b.count - pos >= w * h else { throw fail("truncated: the PGM header says \(w)x\(h) (\(w * h) bytes of pixels), the file has \(b.count - pos)") }
            guard b.count - pos == w * h else { throw fail("\(b.count - pos - w * h) bytes after the \(w)x\(h) PGM pixels") }
            for i in 0..<(w * h) {
                let v = Int(b[pos + i])
                guard v <= maxval else { throw fail("PGM pixel \(i) is \(v), above maxval \(maxval)") }
                px[i] = UInt8((v * 255 + maxval / 2) / maxval)
            }
        }
        return GrayImage(width: w, height: h, pixels: px)
    }
}
