import CZlib
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Little-endian byte building for the writer.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: Int) { u32(UInt32(v)) }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func floats(_ v: [Float]) { for x in v { f32(x) } }
    mutating func align(_ n: Int) { while bytes.count % n != 0 { bytes.append(0) } }
    mutating func patchU32(at o: Int, _ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { bytes[o + i] = $0[i] } }
    }
}

/// Bounds-checked little-endian reads over untrusted bytes: every read says what it was
/// reading, so an error names the field.
struct ByteReader {
    let bytes: [UInt8]
    var pos: Int
    let end: Int
    let path: String

    init(_ bytes: [UInt8], from: Int = 0, to: Int? = nil, path: String) {
        self.bytes = bytes; pos = from; end = to ?? bytes.count; self.path = path
    }

    func fail(_ what: String) -> CheckpointError { CheckpointError(path: path, problem: what) }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, pos <= end, n <= end - pos else { throw fail("truncated while reading \(what) (offset \(pos))") }
    }
    mutating func u8(_ what: String) throws -> UInt8 { try need(1, what); defer { pos += 1 }; return bytes[pos] }
    mutating func u16(_ what: String) throws -> UInt16 {
        try need(2, what); defer { pos += 2 }
        return UInt16(bytes[pos]) | UInt16(bytes[pos + 1]) << 8
    }
    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what); defer { pos += 4 }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[pos + i]) << (8 * UInt32(i)) }
        return v
    }
    mutating func int(_ what: String, max: Int) throws -> Int {
        let v = Int(try u32(what))
        guard v <= max else { throw fail("\(what) is \(v), more than the limit \(max)") }
        return v
    }
    mutating func u64(_ what: String) throws -> UInt64 {
        try need(8, what); defer { pos += 8 }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[pos + i]) << (8 * UInt64(i)) }
        return v
    }
    mutating func f32(_ what: String) throws -> Float { Float(bitPattern: try u32(what)) }
    mutating func f64(_ what: String) throws -> Double { Double(bitPattern: try u64(what)) }
    mutating func take(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
        try need(n, what); defer { pos += n }; return bytes[pos..<(pos + n)]
    }
}

enum Zlib {
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { b in UInt32(CZlib.crc32(0, b.bindMemory(to: UInt8.self).baseAddress, uInt(b.count))) }
    }
    static func crc32(_ bytes: [UInt8]) -> UInt32 { crc32(bytes[...]) }

    static func compress(_ raw: [UInt8]) -> [UInt8] {
        var outLen = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(outLen))
        let rc = raw.withUnsafeBufferPointer { r in
            out.withUnsafeMutableBufferPointer { o in compress2(o.baseAddress, &outLen, r.baseAddress, uLong(r.count), 6) }
        }
        precondition(rc == Z_OK, "zlib compress2 failed (\(rc))")
        out.removeLast(out.count - Int(outLen))
        return out
    }

    /// Inflates `stored` into exactly `rawCount` bytes, or says why it cannot.
    static func inflate(_ stored: ArraySlice<UInt8>, rawCount: Int) -> (bytes: [UInt8]?, problem: String?) {
        var out = [UInt8](repeating: 0, count: rawCount)
        var outLen = uLong(rawCount)
        let rc = stored.withUnsafeBytes { s in
            out.withUnsafeMutableBufferPointer { o in
                uncompress(o.baseAddress, &outLen, s.bindMemory(to: UInt8.self).baseAddress, uLong(s.count))
            }
        }
        switch rc {
        case Z_OK:
            if Int(outLen) != rawCount { return (nil, "inflates to \(outLen) bytes, the table says \(rawCount)") }
            return (out, nil)
        case Z_BUF_ERROR: return (nil, "inflates to more than the \(rawCount) bytes the table says, or the stream is cut short")
        case Z_DATA_ERROR: return (nil, "is not a valid zlib stream")
        default: return (nil, "zlib error \(rc)")
        }
    }
}
