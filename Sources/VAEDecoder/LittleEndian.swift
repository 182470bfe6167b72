/// Reads of little-endian fields from untrusted bytes. Callers check the range first; these
/// only do the unaligned load and the byte order.
extension UnsafeRawBufferPointer {
    @inline(__always)
    func u32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always)
    func u16(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    /// A u32 field as Int without trapping on 32-bit targets: values of 2^31 and up become
    /// Int32.max, which every range check then refuses.
    @inline(__always)
    func int(_ offset: Int) -> Int {
        let v = u32(offset)
        return v > 0x7FFF_FFFF ? 0x7FFF_FFFF : Int(truncatingIfNeeded: v)
    }
    @inline(__always)
    func f32(_ offset: Int) -> Float { Float(bitPattern: u32(offset)) }
}
