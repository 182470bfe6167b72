import Foundation
import TrainerKernels

/// Sixteen images side by side: the trainer keeps one image per SIMD lane, so every
/// multiply-add of the model is a vector operation with a broadcast weight.
public let laneCount = 16

/// The scalar the trainer computes in. Float for training; Double for the gradient checks,
/// where finite differences need the precision.
public protocol TrainScalar: BinaryFloatingPoint, SIMDScalar, Sendable
where Self.RawSignificand: FixedWidthInteger {
    static func vexp(_ x: SIMD16<Self>) -> SIMD16<Self>
    /// vexp as the Swift reference kernels compute it (Kernels.swift).
    static func vexpReference(_ x: SIMD16<Self>) -> SIMD16<Self>
    static func vlog(_ x: SIMD16<Self>) -> SIMD16<Self>
    static func sqrtS(_ x: Self) -> Self
}

public typealias Lanes<S: SIMDScalar> = SIMD16<S>

extension Float: TrainScalar {
    /// exp on 16 lanes: vexpReference, computed by the C kernels (TrainerKernels), whose fused
    /// multiply-adds do not become libm calls in a baseline build.
    @inline(__always)
    public static func vexp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        var x = x, r = SIMD16<Float>()
        withUnsafePointer(to: &x) { xp in withUnsafeMutablePointer(to: &r) { vae_tk_exp_lanes(floats(xp), floats($0), 1) } }
        return r
    }

    /// exp on 16 lanes: 2^k * p(r) with a degree-6 polynomial (relative error < 2e-7).
    /// Inputs are clamped to [-87.3, 88.7], so the result is finite and normal.
    @inline(__always)
    public static func vexpReference(_ xin: SIMD16<Float>) -> SIMD16<Float> {
        let x = xin.clamped(lowerBound: SIMD16(repeating: -87.3), upperBound: SIMD16(repeating: 88.7))
        let kf = (x * 1.442695040888963).rounded(.toNearestOrEven)
        var r = x.addingProduct(kf, SIMD16(repeating: -0.693359375))
        r = r.addingProduct(kf, SIMD16(repeating: 2.12194440e-4))
        var p = SIMD16<Float>(repeating: 1.0 / 720.0)
        p = (p * r) + (1.0 / 120.0)
        p = (p * r) + (1.0 / 24.0)
        p = (p * r) + (1.0 / 6.0)
        p = (p * r) + 0.5
        p = (p * r) + 1.0
        p = (p * r) + 1.0
        let ki = SIMD16<Int32>(truncatingIfNeeded: SIMD16<Int32>(kf))
        let scale = unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: (ki &+ 127) &<< 23), to: SIMD16<Float>.self)
        return p * scale
    }

    /// Natural log on 16 lanes for positive inputs (used only by the BCE, whose argument is a
    /// sigmoid output in (0, 1]); zero gives -inf, which the BCE clamps to -100 as PyTorch does.
    @inline(__always)
    public static func vlog(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
        // Split x = m * 2^e with m in [sqrt(1/2), sqrt(2)).
        var e = SIMD16<Int32>(truncatingIfNeeded: (bits &>> 23) & 0xFF) &- 127
        var mbits = (bits & 0x007F_FFFF) | 0x3F80_0000
        let big = mbits .> 0x3FB5_04F3 // m > sqrt(2)
        mbits.replace(with: mbits &- 0x0080_0000, where: big)
        e.replace(with: e &+ 1, where: big)
        let m = unsafeBitCast(mbits, to: SIMD16<Float>.self)
        // ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var p = SIMD16<Float>(repeating: 2.0 / 9.0)
        p = p * s2 + (2.0 / 7.0)
        p = p * s2 + (2.0 / 5.0)
        p = p * s2 + (2.0 / 3.0)
        p = p * s2 + 2.0
        var r = s * p + SIMD16<Float>(e) * 0.6931471805599453
        r.replace(with: -.infinity, where: x .<= 0)
        return r
    }

    @inline(__always) public static func sqrtS(_ x: Float) -> Float { x.squareRoot() }
}

extension Double: TrainScalar {
    // The Double path exists for gradient checks: exact libm, lane by lane.
    public static func vexp(_ x: SIMD16<Double>) -> SIMD16<Double> {
        var r = x
        for i in 0..<16 { r[i] = Foundation.exp(x[i]) }
        return r
    }
    public static func vexpReference(_ x: SIMD16<Double>) -> SIMD16<Double> { vexp(x) }
    public static func vlog(_ x: SIMD16<Double>) -> SIMD16<Double> {
        var r = x
        for i in 0..<16 { r[i] = Foundation.log(x[i]) }
        return r
    }
    public static func sqrtS(_ x: Double) -> Double { x.squareRoot() }
}

// These two serve the reference kernels only; the trainer's Float path has them in C.
@inline(__always)
func vsigmoid<S: TrainScalar>(_ x: SIMD16<S>) -> SIMD16<S> {
    1 / (1 + S.vexpReference(-x))
}

@inline(__always)
func vtanh<S: TrainScalar>(_ x: SIMD16<S>) -> SIMD16<S> {
    // tanh x = 1 - 2 / (1 + e^{2x}); the form is exact at both saturations.
    1 - 2 / (1 + S.vexpReference(x + x))
}

@inline(__always)
func hsum<S: TrainScalar>(_ v: SIMD16<S>) -> S {
    // Fixed pairwise order: the same bits whatever the compiler vectorises.
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    let c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}
