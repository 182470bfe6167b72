#if !hasFeature(Embedded)
extension SHA256 {
    /// The lowercase hex SHA-256 of `bytes`: the line vae-gen prints and goldens record. Host
    /// builds only (it builds a String and an Array); targets use the digest bytes.
    public static func hex<C: Collection>(of bytes: C) -> String where C.Element == UInt8 {
        var s = SHA256()
        Array(bytes).withUnsafeBytes { s.update($0) }
        var d = [UInt8](repeating: 0, count: 32)
        d.withUnsafeMutableBufferPointer { s.finish(into: $0.baseAddress!) }
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: d.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }
}
#endif
