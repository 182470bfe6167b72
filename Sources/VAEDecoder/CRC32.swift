#if canImport(VAEHostKernels)
import VAEHostKernels
#endif

/// CRC-32 (ISO-HDLC, the zlib/PNG one), four bits at a time: a 64-byte table keeps it small in
/// flash. Hosts run the C library's eight-bytes-at-a-time version instead (it is most of the
/// time vae-gen spends loading a decoder); tests hold the two equal.
public enum CRC32 {
    /// The CRC of each nibble value; a switch of constants, which the compiler turns into a
    /// 64-byte lookup table in read-only memory (a global array would need a heap on some targets).
    @inline(__always)
    static func entry(_ i: UInt32) -> UInt32 {
        switch i {
        case 0: return 0x0000_0000
        case 1: return 0x1DB7_1064
        case 2: return 0x3B6E_20C8
        case 3: return 0x26D9_30AC
        case 4: return 0x76DC_4190
        case 5: return 0x6B6B_51F4
        case 6: return 0x4DB2_6158
        case 7: return 0x5005_713C
        case 8: return 0xEDB8_8320
        case 9: return 0xF00F_9344
        case 10: return 0xD6D6_A3E8
        case 11: return 0xCB61_B38C
        case 12: return 0x9B64_C2B0
        case 13: return 0x86D3_D2D4
        case 14: return 0xA00A_E278
        default: return 0xBDBD_F21C
        }
    }

    /// Continues `crc` (0 to start) over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        #if canImport(VAEHostKernels)
        guard let b = bytes.baseAddress else { return crc }
        return vae_crc32_update(crc, b, bytes.count)
        #else
        return nibbles(crc, bytes)
        #endif
    }

    /// The nibble-table loop (targets; tests compare the host's version with it).
    public static func nibbles(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        for b in bytes {
            c ^= UInt32(b)
            c = (c >> 4) ^ entry(c & 0xF)
            c = (c >> 4) ^ entry(c & 0xF)
        }
        return ~c
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { update(0, bytes) }
}
