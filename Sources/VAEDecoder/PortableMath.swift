/// The few transcendental functions the runtime needs, written with + - * / and exponent bit
/// manipulation only, so that every platform (x86-64, AArch64, Cortex-M with or without an FPU)
/// computes the same bits. No libm: its results differ between C libraries. Plain `*` and `+`
/// are never fused here (Swift does not contract), so each line rounds exactly as written.
/// Spec: docs/latent-generator.md, section 3.
public enum PortableMath {
    /// e^x for x in [-80, 80] (the argument is clamped to that range): 2^k * p(r), with
    /// k = nearest integer to x / ln 2, r = x - k ln 2 in two steps (Cody-Waite), and p the
    /// degree-6 Taylor polynomial of e^r on |r| <= ln(2)/2. Relative error below 3e-7.
    @inline(__always)
    public static func exp(_ xin: Float) -> Float {
        var x = xin
        if x > 80 { x = 80 }
        if !(x >= -80) { x = -80 }                      // also NaN: a decoder never traps on bad input
        let t = x * 1.442_695_04
        let k = Int32(t >= 0 ? t + 0.5 : t - 0.5)      // round half away from zero, then truncate
        let kf = Float(Int(k))                          // Int, not Int32: a direct conversion on 32-bit targets
        let r = (x - kf * 0.693_359_375) + kf * 2.121_944_4e-4
        var p: Float = 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        let scale = Float(bitPattern: UInt32(bitPattern: (k + 127) << 23))
        return p * scale
    }

    /// Natural log for x > 0: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then
    /// ln m = 2 atanh(s), s = (m - 1) / (m + 1), by its odd series to s^9. Relative error below 2e-7.
    @inline(__always)
    public static func log(_ x: Float) -> Float {
        let bits = x.bitPattern
        var e = Int32(bitPattern: (bits >> 23) & 0xFF) - 127
        var mbits = (bits & 0x007F_FFFF) | 0x3F80_0000
        if mbits > 0x3FB5_04F3 { mbits -= 0x0080_0000; e += 1 }
        let m = Float(bitPattern: mbits)
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var p: Float = 2.0 / 9.0
        p = p * s2 + 2.0 / 7.0
        p = p * s2 + 2.0 / 5.0
        p = p * s2 + 2.0 / 3.0
        p = p * s2 + 2.0
        let ef = Float(Int(e))
        return (s * p + ef * 1.428_606_8e-6) + ef * 0.693_145_75
    }

    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
}
