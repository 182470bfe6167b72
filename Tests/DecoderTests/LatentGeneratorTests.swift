import Foundation
import VAEDecoder
import XCTest

/// Pins the seeded generator of docs/latent-generator.md: these bits are a contract with every
/// platform and with the C interface.
final class LatentGeneratorTests: XCTestCase {
    func testSplitMix64MatchesTheReferenceStream() {
        // SplitMix64 seeded with 0, outputs 1..3 (the published reference values).
        XCTAssertEqual(LatentGenerator.draw(seed: 0, index: 0), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(LatentGenerator.draw(seed: 0, index: 1), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(LatentGenerator.draw(seed: 0, index: 2), 0x06C4_5D18_8009_454F)
    }

    func testSeed42TestVectors() {
        // The first eight components of image 0 and the first two of image 1 of seed 42, as bit
        // patterns (docs/latent-generator.md lists the same values).
        let expected: [UInt32] = [0x3F25_EEF5, 0xBF7E_ACED, 0xBF16_45C8, 0xBECD_56C8, 0xBFE3_13ED, 0x3F8F_1C62, 0xBF47_102A, 0x3F58_088A,
                                  0xBEE8_6375, 0x3EA0_AAF7]
        var got: [UInt32] = []
        for j in 0..<8 { got.append(LatentGenerator.component(seed: 42, image: 0, index: j, latent: 64).bitPattern) }
        for j in 0..<2 { got.append(LatentGenerator.component(seed: 42, image: 1, index: j, latent: 64).bitPattern) }
        XCTAssertEqual(got, expected)
    }

    func testUniformIsOpenAndExact() {
        XCTAssertEqual(LatentGenerator.uniform(0), 0x1.0p-24)
        XCTAssertEqual(LatentGenerator.uniform(.max), 1 - 0x1.0p-24)
        XCTAssertEqual(LatentGenerator.uniform(1 << 63), 0.5 + 0x1.0p-24)
    }

    func testNormalQuantileIsAccurate() {
        // Against a double-precision inverse by bisection on erfc.
        func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
        var worst = 0.0, worstZ = 0.0, worstCentral = 0.0
        for k in stride(from: 0, to: 1 << 23, by: 997) {
            let u = Float(2 * k + 1) * 0x1.0p-24
            let z = Double(LatentGenerator.normal(fromUniform: u))
            var lo = -10.0, hi = 10.0
            for _ in 0..<80 { let mid = (lo + hi) / 2; if cdf(mid) < Double(u) { lo = mid } else { hi = mid } }
            if abs(z - lo) > worst { worst = abs(z - lo); worstZ = lo }
            if abs(lo) < 2 { worstCentral = max(worstCentral, abs(z - lo)) }
        }
        print("normal quantile: largest |z - exact| \(worst) at z = \(worstZ); for |z| < 2: \(worstCentral)")
        // Float32 evaluation of Acklam's rational: cancellation near the region edges costs
        // about 3e-4 (docs/latent-generator.md states the bound).
        XCTAssertLessThan(worstCentral, 5e-4, "largest |z - exact| for |z| < 2")
        XCTAssertLessThan(worst, 5e-4, "largest |z - exact| over the grid")
    }

    func testMomentsOfManyDraws() {
        var s = 0.0, s2 = 0.0
        let n = 200_000
        for k in 0..<n {
            let z = Double(LatentGenerator.component(seed: 7, image: UInt64(k / 64), index: k % 64, latent: 64))
            s += z; s2 += z * z
        }
        let mean = s / Double(n), variance = s2 / Double(n) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.015)
    }

    func testPortableMathAgainstLibm() {
        var worstExp = 0.0, worstLog = 0.0
        var x: Float = -80
        while x <= 80 {
            let r = Double(PortableMath.exp(x)), e = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(r - e) / e)
            x += 0.0137
        }
        var y: Float = 1e-30
        while y < 1e30 {
            let r = Double(PortableMath.log(y)), e = Foundation.log(Double(y))
            worstLog = max(worstLog, abs(r - e) / max(1, abs(e)))
            y *= 1.0173
        }
        XCTAssertLessThan(worstExp, 3e-7)
        XCTAssertLessThan(worstLog, 3e-7)
    }

    // MARK: the quantile, exactly as docs/latent-generator.md section 3 lists it

    /// Section 3's coefficients, as float32 bit patterns (the code writes them as decimals).
    static let a: [UInt32] = [0xC21E_C98E, 0x435C_F234, 0xC389_F6D9, 0x430A_5B96, 0xC1F5_5182, 0x4020_6C99]
    static let b: [UInt32] = [0xC259_E786, 0x4321_95F9, 0xC31B_B2F0, 0x4285_9A46, 0xC154_7DAC]
    static let c: [UInt32] = [0xBBFF_186D, 0xBEA5_1126, 0xC019_A606, 0xC023_2ED1, 0x408B_FD40, 0x403C_0AE1]
    static let d: [UInt32] = [0x3BFF_16C3, 0x3EA5_1A69, 0x401C_7D14, 0x4070_483B]
    static let pLow: UInt32 = 0x3CC6_A7F0, pHigh: UInt32 = 0x3F79_CAC0

    /// The quantile written from the doc alone.
    static func documented(_ u: Float) -> Float {
        func horner(_ k: [UInt32], _ x: Float, one: Bool) -> Float {
            var acc = Float(bitPattern: k[0])
            for w in k.dropFirst() { acc = acc * x + Float(bitPattern: w) }
            return one ? acc * x + 1 : acc
        }
        func tail(_ q: Float) -> Float { horner(c, q, one: false) / horner(d, q, one: true) }
        if u < Float(bitPattern: pLow) { return tail((-2 * PortableMath.log(u)).squareRoot()) }
        if u > Float(bitPattern: pHigh) { return -tail((-2 * PortableMath.log(1 - u)).squareRoot()) }
        let q = u - 0.5, r = q * q
        return horner(a, r, one: false) * q / horner(b, r, one: true)
    }

    func testQuantileIsTheDocumentedEvaluationForEveryUniform() {
        // All 2^23 values u can take: the code and the doc's coefficient table, operation order
        // and region bounds give the same bits, and Q(1 - u) = -Q(u) exactly.
        var mismatches = 0, asymmetric = 0, firstMismatch: UInt32?
        for k in 0..<(UInt32(1) << 23) {
            let u = Float(2 * k + 1) * 0x1.0p-24
            let z = LatentGenerator.normal(fromUniform: u)
            if z.bitPattern != Self.documented(u).bitPattern { mismatches += 1; if firstMismatch == nil { firstMismatch = k } }
            if LatentGenerator.normal(fromUniform: 1 - u).bitPattern != (-z).bitPattern { asymmetric += 1 }
        }
        XCTAssertEqual(mismatches, 0, "first at k = \(firstMismatch.map(String.init) ?? "-")")
        XCTAssertEqual(asymmetric, 0)
    }

    func testRegionBoundsAreFloat32AndTheUpperIsOneMinusTheLower() {
        let lo: Float = 0.024_25
        XCTAssertEqual(lo.bitPattern, Self.pLow)
        XCTAssertEqual((1 - lo).bitPattern, Self.pHigh, "1 - 0.02425f rounds to 0x3F79CAC0")
        XCTAssertEqual(Float(0.975_75).bitPattern, Self.pHigh + 1, "the literal 0.97575f is one ulp higher")
    }

    func testBoundaryVectors() {
        // (top 23 bits t, u = (2t + 1) * 2^-24, z): the uniforms on either side of each bound.
        let vectors: [(t: UInt64, u: UInt32, z: UInt32)] = [
            (203_423, 0x3CC6_A7E0, 0xBFFC_8A01),     // u < 0.02425f: lower tail, -1.97296154
            (203_424, 0x3CC6_A820, 0xBFFC_865D),     // central, -1.97285044
            (8_185_183, 0x3F79_CABF, 0x3FFC_865D),   // central, +1.97285044
            (8_185_184, 0x3F79_CAC1, 0x3FFC_8A01),   // u = 0.97575f > 1 - 0.02425f: upper tail, +1.97296154
            (8_185_185, 0x3F79_CAC3, 0x3FFC_8A13),   // upper tail, +1.97296369
        ]
        for v in vectors {
            let u = LatentGenerator.uniform(v.t << 41)
            XCTAssertEqual(u.bitPattern, v.u, "t = \(v.t)")
            XCTAssertEqual(LatentGenerator.normal(fromUniform: u).bitPattern, v.z, "t = \(v.t)")
        }
        // A reader that put u = 0.97575f in the central region would get 0x3FFC8091 (+1.97267354).
        let u = Float(bitPattern: 0x3F79_CAC1), q = u - 0.5, r = q * q
        func horner(_ k: [UInt32], _ x: Float) -> Float { k.dropFirst().reduce(Float(bitPattern: k[0])) { $0 * x + Float(bitPattern: $1) } }
        XCTAssertEqual((horner(Self.a, r) * q / (horner(Self.b, r) * r + 1)).bitPattern, 0x3FFC_8091)
        // Reachable: seed 42, image 7466, component 45 (draw 477869) has t = 8185184.
        XCTAssertEqual(LatentGenerator.draw(seed: 42, index: 7466 * 64 + 45) >> 41, 8_185_184)
        XCTAssertEqual(LatentGenerator.component(seed: 42, image: 7466, index: 45, latent: 64).bitPattern, 0x3FFC_8A01)
    }
}
