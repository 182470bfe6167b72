/// IDX files (MNIST's format): big-endian header, 0x08 = unsigned bytes. Every header field is
/// checked against the file's real length before anything is sized from it.
public enum IDX {
    public static func decodeImages(_ b: [UInt8], path: String) throws(InputError) -> GrayImages {
        func fail(_ s: String) -> InputError { InputError(path: path, problem: s) }
        func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        guard b.count >= 4, b[0] == 0, b[1] == 0 else { throw fail("not an IDX file (magic must start 00 00)") }
        guard b[2] == 0x08 else { throw fail("IDX element type 0x\(String(b[2], radix: 16)) is not unsigned bytes (0x08)") }
        if b[3] == 1 { throw fail("IDX file with 1 dimension is a labels file, not images") }
        guard b[3] == 3 else { throw fail("IDX file has \(b[3]) dimensions; an image file has 3 (count, rows, columns)") }
        guard b.count >= 16 else { throw fail("truncated IDX header (\(b.count) bytes, need 16)") }
        let n = be32(4), r = be32(8), c = be32(12)
        guard n > 0 else { throw fail("IDX image count is 0") }
        guard r > 0, c > 0, r <= 4096, c <= 4096 else { throw fail("IDX image size \(r)x\(c) is out of range") }
        let need = 16 + n * r * c
        guard b.count >= need else { throw fail("truncated: the IDX header says \(n) images of \(r)x\(c) (\(need) bytes), the file has \(b.count)") }
        guard b.count == need else { throw fail("\(b.count - need) bytes after the \(n) images the IDX header announces") }
        let px = r * c
        return GrayImages(width: c, height: r, images: (0..<n).map { Array(b[(16 + $0 * px)..<(16 + ($0 + 1) * px)]) })
    }

    /// IDX1 labels (0x08, 1 dimension).
    public static func decodeLabels(_ b: [UInt8], path: String) throws(InputError) -> [UInt8] {
        func fail(_ s: String) -> InputError { InputError(path: path, problem: s) }
        guard b.count >= 8, b[0] == 0, b[1] == 0, b[2] == 0x08 else { throw fail("not an IDX labels file (magic must be 00 00 08 01)") }
        guard b[3] == 1 else { throw fail("IDX file has \(b[3]) dimensions; a labels file has 1") }
        let n = Int(b[4]) << 24 | Int(b[5]) << 16 | Int(b[6]) << 8 | Int(b[7])
        guard b.count == 8 + n else { throw fail("the IDX header says \(n) labels, the file holds \(b.count - 8)") }
        return Array(b[8...])
    }
}
