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
    @inline(__always)
    func f32(_ offset: Int) -> Float { Float(bitPattern: u32(offset)) }
}
