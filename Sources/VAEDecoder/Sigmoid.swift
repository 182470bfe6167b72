/// The sigmoid of the last layer, 16 lanes at a time: PortableMath.sigmoid's operations in the
/// same order on each lane, so each value's bits equal the scalar function's. Written twice on
/// purpose (scalar in PortableMath, vector here): the vector form must not use the standard
/// library's lane-by-lane conversions to be fast, the scalar one must run on soft-float cores.
public enum Sigmoid {
    @inline(__always)
    static func exp16(_ xin: SIMD16<Float>) -> SIMD16<Float> {
        var x = xin.replacing(with: 80, where: xin .> 80)
        x.replace(with: -80, where: .!(x .>= -80))
        let t = x * 1.442_695_04
        let half = SIMD16<Float>(repeating: 0.5).replacing(with: -0.5, where: t .< 0)
        // |t + half| < 128, so adding 1.5 * 2^23 leaves its integer part, rounded to nearest, in
        // the low mantissa bits; truncation toward zero is that, minus one where rounding went up.
        let u = t + half
        var kf = (u + 12_582_912.0) - 12_582_912.0
        kf.replace(with: kf - 1, where: (u .>= 0) .& (kf .> u))
        kf.replace(with: kf + 1, where: (u .< 0) .& (kf .< u))
        let k = unsafeBitCast(kf + 12_582_912.0, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let r = (x - kf * 0.693_359_375) + kf * 2.121_944_4e-4
        var p = SIMD16<Float>(repeating: 1.0 / 720.0)
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        let scale = unsafeBitCast((k &+ 127) &<< 23, to: SIMD16<Float>.self)
        return p * scale
    }

    @inline(__always)
    static func sigmoid16(_ v: SIMD16<Float>) -> SIMD16<Float> { 1 / (1 + exp16(-v)) }

    /// p[0..<count] = sigmoid(p[i]).
    static func apply(_ p: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let raw = UnsafeMutableRawPointer(p + i)
            raw.storeBytes(of: sigmoid16(raw.loadUnaligned(as: SIMD16<Float>.self)), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { p[i] = PortableMath.sigmoid(p[i]); i += 1 }
    }
}
