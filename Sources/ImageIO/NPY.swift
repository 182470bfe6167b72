/// NumPy's .npy format (versions 1.0, 2.0, 3.0), read strictly for what the tools exchange: a
/// C-order array of one dtype. The header dict must hold exactly 'descr', 'fortran_order' and
/// 'shape', and the data exactly the bytes the shape says: anything else is refused naming the
/// field, because a silently misread array decodes into plausible-looking garbage.
public enum NPY {
    public static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    public struct Array2: Equatable {
        public let rows: Int, columns: Int
        public let values: [Float]
    }

    /// A little-endian float32 array of shape (N, columns), N >= 1.
    public static func readFloat32(_ b: [UInt8], columns: Int, path: String) throws(InputError) -> Array2 {
        func fail(_ s: String) -> InputError { InputError(path: path, problem: s) }
        guard b.count >= 10, b.starts(with: magic) else { throw fail("not a .npy file (magic must be \\x93NUMPY)") }
        let major = b[6], minor = b[7]
        guard (1...3).contains(major), minor == 0 else { throw fail("npy version \(major).\(minor) is not 1.0, 2.0 or 3.0") }
        let headerLen: Int, start: Int
        if major == 1 { headerLen = Int(b[8]) | Int(b[9]) << 8; start = 10 } else {
            guard b.count >= 12 else { throw fail("truncated npy preamble") }
            headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; start = 12
        }
        guard headerLen <= b.count - start else { throw fail("truncated: npy header length \(headerLen) runs past the end of the file (\(b.count) bytes)") }
        guard (start + headerLen) % 16 == 0 else { throw fail("npy header length \(headerLen): data does not start at a multiple of 16 (the format requires it)") }
        guard let text = String(validating: b[start..<(start + headerLen)], as: UTF8.self) else { throw fail("npy header is not UTF-8 text") }
        guard text.hasSuffix("\n") else { throw fail("npy header does not end with a newline") }
        let dict = try parseDict(text.trimmingSpaces, fail)
        guard Set(dict.keys) == ["descr", "fortran_order", "shape"] else {
            throw fail("npy header keys are \(dict.keys.sorted()), not exactly 'descr', 'fortran_order', 'shape'")
        }
        guard dict["descr"] == "'<f4'" else { throw fail("npy descr is \(dict["descr"]!), not '<f4' (little-endian float32)") }
        guard dict["fortran_order"] == "False" else { throw fail("npy fortran_order is \(dict["fortran_order"]!), not False (C order)") }
        let shape = dict["shape"]!
        guard shape.hasPrefix("("), shape.hasSuffix(")") else { throw fail("npy shape \(shape) is not a tuple") }
        let dims = shape.dropFirst().dropLast().split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        guard dims.count == 2, let n = Int(dims[0]), let d = Int(dims[1]) else { throw fail("npy shape \(shape) is not (N, \(columns))") }
        guard d == columns else { throw fail("npy shape \(shape): \(d) columns, the model's latent has \(columns)") }
        guard n >= 1, n <= 1 << 20 else { throw fail("npy shape \(shape): N = \(n) is not 1 ... \(1 << 20)") }
        let data = b.count - start - headerLen
        guard data == n * d * 4 else { throw fail("npy data is \(data) bytes; shape \(shape) of float32 needs \(n * d * 4)") }
        var v = [Float](repeating: 0, count: n * d)
        let o = start + headerLen
        for i in 0..<(n * d) {
            let p = o + 4 * i
            v[i] = Float(bitPattern: UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3]) << 24)
        }
        if let bad = v.firstIndex(where: { !$0.isFinite }) { throw fail("npy value [\(bad / d), \(bad % d)] is \(v[bad]), not finite") }
        return Array2(rows: n, columns: d, values: v)
    }

    /// A version 1.0 .npy of `values` with `shape`; descr is '|u1' (bytes) or '<f4'.
    public static func encode(bytes values: [UInt8], shape: [Int]) -> [UInt8] { header(descr: "|u1", shape: shape) + values }

    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var h = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
        h += "\n"
        let n = h.utf8.count
        return magic + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(h.utf8)
    }

    /// {'key': value, ...}: values are a quoted string, True/False, or a parenthesised tuple.
    static func parseDict(_ s: String, _ fail: (String) -> InputError) throws(InputError) -> [String: String] {
        guard s.hasPrefix("{"), s.hasSuffix("}") else { throw fail("npy header is not a dict ({...})") }
        var body = Substring(s.dropFirst().dropLast())
        var out: [String: String] = [:]
        while true {
            body = body.drop { $0 == " " }
            if body.isEmpty { break }
            guard body.first == "'", let close = body.dropFirst().firstIndex(of: "'") else { throw fail("npy header: a key is not a quoted string") }
            let key = String(body[body.index(after: body.startIndex)..<close])
            body = body[body.index(after: close)...].drop { $0 == " " }
            guard body.first == ":" else { throw fail("npy header: no ':' after '\(key)'") }
            body = body.dropFirst().drop { $0 == " " }
            let end: String.Index
            if body.first == "(" {
                guard let c = body.firstIndex(of: ")") else { throw fail("npy header: '\(key)' tuple is not closed") }
                end = body.index(after: c)
            } else if body.first == "'" {
                guard let c = body.dropFirst().firstIndex(of: "'") else { throw fail("npy header: '\(key)' string is not closed") }
                end = body.index(after: c)
            } else {
                end = body.firstIndex(of: ",") ?? body.endIndex
            }
            guard out[key] == nil else { throw fail("npy header: key '\(key)' appears twice") }
            out[key] = String(body[..<end]).trimmingSpaces
            body = body[end...].drop { $0 == " " }
            if body.first == "," { body = body.dropFirst() } else if !body.isEmpty { throw fail("npy header: junk after '\(key)'") }
        }
        return out
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\n" || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\n" || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
