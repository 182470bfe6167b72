/// The seeded latent vectors of `vae-gen --seed S`: image i's component j is a standard normal
/// made from draw k = i * D + j of SplitMix64 seeded with S (D = latent size). Counter-based, so
/// any image can be made without the ones before it. Spec and test vectors:
/// docs/latent-generator.md.
public enum LatentGenerator {
    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// SplitMix64's k-th output (k from 0) for seed S: mix(S + (k + 1) * gamma).
    @inline(__always)
    public static func draw(seed: UInt64, index k: UInt64) -> UInt64 {
        var z = seed &+ (k &+ 1) &* gamma
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The top 23 bits as an odd multiple of 2^-24: exactly representable, never 0 or 1.
    @inline(__always)
    public static func uniform(_ bits: UInt64) -> Float {
        let k = UInt32(truncatingIfNeeded: bits >> 41)
        return Float(2 &* k &+ 1) * 0x1.0p-24
    }

    /// Acklam's rational approximation of the standard normal quantile, in Float.
    public static func normal(fromUniform p: Float) -> Float {
        let pLow: Float = 0.024_25
        if p < pLow {
            let q = (-2 * PortableMath.log(p)).squareRoot()
            return tail(q)
        }
        if p > 1 - pLow {
            let q = (-2 * PortableMath.log(1 - p)).squareRoot()
            return -tail(q)
        }
        let q = p - 0.5
        let r = q * q
        var num: Float = -3.969_683_028_665_376e+01
        num = num * r + 2.209_460_984_245_205e+02
        num = num * r - 2.759_285_104_469_687e+02
        num = num * r + 1.383_577_518_672_690e+02
        num = num * r - 3.066_479_806_614_716e+01
        num = num * r + 2.506_628_277_459_239e+00
        var den: Float = -5.447_609_879_822_406e+01
        den = den * r + 1.615_858_368_580_409e+02
        den = den * r - 1.556_989_798_598_866e+02
        den = den * r + 6.680_131_188_771_972e+01
        den = den * r - 1.328_068_155_288_572e+01
        den = den * r + 1
        return num * q / den
    }

    @inline(__always)
    static func tail(_ q: Float) -> Float {
        var num: Float = -7.784_894_002_430_293e-03
        num = num * q - 3.223_964_580_411_365e-01
        num = num * q - 2.400_758_277_161_838e+00
        num = num * q - 2.549_732_539_343_734e+00
        num = num * q + 4.374_664_141_464_968e+00
        num = num * q + 2.938_163_982_698_783e+00
        var den: Float = 7.784_695_709_041_462e-03
        den = den * q + 3.224_671_290_700_398e-01
        den = den * q + 2.445_134_137_142_996e+00
        den = den * q + 3.754_408_661_907_416e+00
        den = den * q + 1
        return num / den
    }

    /// Component j of image i's latent for seed S.
    @inline(__always)
    public static func component(seed: UInt64, image i: UInt64, index j: Int, latent d: Int) -> Float {
        normal(fromUniform: uniform(draw(seed: seed, index: i &* UInt64(d) &+ UInt64(j))))
    }

    /// Fills `out[0..<d]` with image i's latent.
    public static func fill(seed: UInt64, image i: UInt64, latent d: Int, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<d { out[j] = component(seed: seed, image: i, index: j, latent: d) }
    }
}
