import CZlib

/// A PNG reader for the images a user brings: 8-bit grayscale, gray+alpha, RGB or RGBA,
/// non-interlaced (what image editors and our own encoder write). Colour becomes gray by
/// integer Rec. 601 luma; alpha is dropped (the digits are white on black, as in MNIST). Every
/// chunk's CRC is checked, and anything else is refused by name rather than decoded wrongly.
public enum PNGDecoder {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func decode(_ b: [UInt8], path: String) throws(InputError) -> GrayImage {
        func fail(_ s: String) -> InputError { InputError(path: path, problem: s) }
        guard b.starts(with: signature) else { throw fail("not a PNG file (bad signature)") }
        func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        var pos = 8
        var width = 0, height = 0, channels = 0
        var idat: [UInt8] = []
        var sawHeader = false, sawEnd = false
        while pos < b.count {
            guard b.count - pos >= 12 else { throw fail("truncated PNG chunk at byte \(pos)") }
            let len = be32(pos)
            let type = String(decoding: b[(pos + 4)..<(pos + 8)], as: UTF8.self)
            guard len <= b.count - pos - 12 else { throw fail("truncated: PNG chunk \(type) says \(len) bytes, the file ends first") }
            let data = b[(pos + 8)..<(pos + 8 + len)]
            let crc = b[(pos + 4)..<(pos + 8 + len)].withUnsafeBytes { UInt32(crc32(0, $0.baseAddress!.assumingMemoryBound(to: Bytef.self), UInt32($0.count))) }
            guard crc == UInt32(be32(pos + 8 + len)) else { throw fail("PNG chunk \(type): CRC mismatch (the file is corrupt)") }
            pos += 12 + len
            if !sawHeader {
                guard type == "IHDR", len == 13 else { throw fail("PNG does not start with a 13-byte IHDR chunk") }
                let d = Array(data)
                width = Int(d[0]) << 24 | Int(d[1]) << 16 | Int(d[2]) << 8 | Int(d[3])
                height = Int(d[4]) << 24 | Int(d[5]) << 16 | Int(d[6]) << 8 | Int(d[7])
                guard width > 0, height > 0, width <= 4096, height <= 4096 else { throw fail("PNG size \(width)x\(height) is out of range") }
                guard d[8] == 8 else { throw fail("PNG bit depth \(d[8]) is not supported (8 only)") }
                switch d[9] {
                case 0: channels = 1
                case 4: channels = 2
                case 2: channels = 3
                case 6: channels = 4
                default: throw fail("PNG colour type \(d[9]) is not supported (gray, gray+alpha, RGB, RGBA)")
                }
                guard d[10] == 0, d[11] == 0 else { throw fail("PNG compression/filter method \(d[10])/\(d[11]) is not 0") }
                guard d[12] == 0 else { throw fail("interlaced PNG is not supported") }
                sawHeader = true
            } else if type == "IDAT" {
                idat.append(contentsOf: data)
            } else if type == "IEND" {
                sawEnd = true; break
            }
        }
        guard sawHeader else { throw fail("PNG has no IHDR chunk") }
        guard sawEnd else { throw fail("truncated PNG: no IEND chunk") }
        guard !idat.isEmpty else { throw fail("PNG has no image data (IDAT)") }
        let stride = width * channels
        let rawLen = height * (1 + stride)
        var raw = [UInt8](repeating: 0, count: rawLen + 1)   // one spare byte: more data than expected shows as a longer output
        var outLen = uLongf(raw.count)
        let rc = raw.withUnsafeMutableBufferPointer { r in
            idat.withUnsafeBufferPointer { s in uncompress(r.baseAddress, &outLen, s.baseAddress, uLong(s.count)) }
        }
        guard rc == Z_OK || rc == Z_BUF_ERROR else { throw fail("PNG image data does not inflate (zlib error \(rc))") }
        guard rc == Z_OK, Int(outLen) == rawLen else { throw fail("PNG image data inflates to \(rc == Z_OK ? "\(outLen)" : "more than \(rawLen)") bytes, not the \(rawLen) that \(width)x\(height) needs") }
        var cur = [UInt8](repeating: 0, count: stride), prev = cur
        var gray = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            let base = y * (1 + stride)
            let filter = raw[base]
            for x in 0..<stride {
                let v = raw[base + 1 + x]
                let a = x >= channels ? Int(cur[x - channels]) : 0, up = Int(prev[x]), c = x >= channels ? Int(prev[x - channels]) : 0
                let pred: Int
                switch filter {
                case 0: pred = 0
                case 1: pred = a
                case 2: pred = up
                case 3: pred = (a + up) / 2
                case 4:
                    let p = a + up - c, pa = abs(p - a), pb = abs(p - up), pc = abs(p - c)
                    pred = pa <= pb && pa <= pc ? a : (pb <= pc ? up : c)
                default: throw fail("PNG row \(y) has filter type \(filter) (0 ... 4)")
                }
                cur[x] = v &+ UInt8(truncatingIfNeeded: pred)
            }
            for x in 0..<width {
                let p = x * channels
                if channels >= 3 {
                    let r = 299 * Int(cur[p]), g = 587 * Int(cur[p + 1]), bl = 114 * Int(cur[p + 2])
                    gray[y * width + x] = UInt8((r + g + bl + 500) / 1000)
                } else {
                    gray[y * width + x] = cur[p]
                }
            }
            swap(&cur, &prev)
        }
        return GrayImage(width: width, height: height, pixels: gray)
    }
}
