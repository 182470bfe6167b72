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

    /// a * b + c with one rounding (IEEE 754 fusedMultiplyAdd), for targets without a fused
    /// multiply-add instruction (WebAssembly). The product of two floats is exact in double
    /// (24 + 24 bits <= 53); the sum is rounded to odd in double (round to nearest, then, if it
    /// was inexact and the result's last bit is even, one step toward the exact value), and
    /// rounding that to float is correctly rounded, because double carries more than float's
    /// 24 + 2 bits (Boldo and Melquiond 2008). The same algorithm as the host's portable C
    /// kernels (Sources/VAEHostKernels/soft_fma.h); tests hold it equal to the hardware
    /// instruction on many random triples and the hard cases.
    @inline(__always)
    public static func fma(_ a: Float, _ b: Float, _ c: Float) -> Float {
        let p = Double(a) * Double(b)
        let z = Double(c)
        let s = p + z
        // Rounding s to float is already correct unless s lies exactly halfway between two
        // floats (its 29 extra fraction bits 1000...0), where the double rounding may have
        // broken a tie the exact value does not have; and unless s is below float's normal
        // range (another grid), or not finite (inf and NaN: nothing to correct).
        let exp = (s.bitPattern >> 52) & 0x7FF
        if s.bitPattern & 0x1FFF_FFFF != 0x1000_0000 && exp >= 1023 - 126 || exp == 0x7FF { return Float(s) }
        // TwoSum: err is exactly p + z - s (Swift never contracts these into fused operations).
        let bb = s - p
        let err = (p - (s - bb)) + (z - bb)
        var bits = s.bitPattern
        if err != 0 && bits & 1 == 0 {
            // one step away from zero when the exact value is further from zero, else toward it
            if (err > 0) == (s > 0) { bits &+= 1 } else { bits &-= 1 }
        }
        return Float(Double(bitPattern: bits))
    }
}

#if arch(wasm32)
/// WebAssembly has no fused multiply-add instruction: LLVM lowers `Float.addingProduct` (the
/// kernels' one multiply-add per tap) to a call to `fmaf`, and a module with no C library gets
/// it here, exact, so the float32 path gives the spec's bits (docs/checkpoint-format.md, 2.1).
@c(fmaf)
public func vaePortableFMAF(_ a: Float, _ b: Float, _ c: Float) -> Float { PortableMath.fma(a, b, c) }
#endif
