// PortableMath.fma, the exact software fused multiply-add that the WebAssembly build of the
// runtime runs for every float32 tap (WebAssembly has no FMA instruction), against the hardware
// one on this host (Float.addingProduct: glibc's fmaf, which on a CPU with FMA, as here, is the
// vfmadd instruction) and against the host's portable C kernels' vector version (vae_fma_soft16):
// one million triples, most of them chosen to be hard.
import VAEHostKernels
import XCTest
@testable import VAEDecoder

final class PortableFMATests: XCTestCase {
    func testPortableFMAIsCorrectlyRoundedOnHardAndRandomTriples() {
        var v = HostKernelTests.Values(s: 2026)
        var a = [Float](repeating: 0, count: 16), b = a, c = a, soft = a
        var bad = 0, badC = 0, checked = 0, naiveWrong = 0, midpointCases = 0
        for round in 0..<62_500 {
            for i in 0..<16 { (a[i], b[i], c[i]) = v.fmaTriple(kind: (round + i) % 8) }
            vae_fma_soft16(a, b, c, &soft)
            for i in 0..<16 {
                let want = c[i].addingProduct(a[i], b[i])
                let got = PortableMath.fma(a[i], b[i], c[i])
                checked += 1
                if want.bitPattern != got.bitPattern && !(want.isNaN && got.isNaN) {
                    bad += 1
                    if bad <= 5 { print("fma(\(a[i]), \(b[i]), \(c[i])) = \(want) but PortableMath.fma gives \(got)") }
                }
                if want.isFinite && soft[i].bitPattern != got.bitPattern { badC += 1 }
                let naive = Float(Double(a[i]) * Double(b[i]) + Double(c[i]))
                if want.isFinite && naive.bitPattern != want.bitPattern { naiveWrong += 1 }
                if (round + i) % 8 == 6 { midpointCases += 1 }
            }
        }
        XCTAssertEqual(bad, 0, "of \(checked) triples")
        XCTAssertEqual(badC, 0, "PortableMath.fma and the C kernels' vae_fma_soft16 differ")
        XCTAssertEqual(checked, 1_000_000)
        // The hard cases are hard: plain double arithmetic rounds many of them wrongly.
        XCTAssertGreaterThan(naiveWrong, 10_000, "of \(midpointCases) double-rounding cases")
        print("PortableFMATests: \(checked) triples, 0 differ; a * b + c in double then float is wrong on \(naiveWrong)")
    }

    func testSpecialValues() {
        let inf = Float.infinity
        XCTAssertEqual(PortableMath.fma(inf, 1, 1), inf)
        XCTAssertEqual(PortableMath.fma(-inf, 1, 1), -inf)
        XCTAssertTrue(PortableMath.fma(inf, 0, 1).isNaN)
        XCTAssertTrue(PortableMath.fma(inf, 1, -inf).isNaN)
        XCTAssertTrue(PortableMath.fma(.nan, 1, 1).isNaN)
        XCTAssertEqual(PortableMath.fma(.greatestFiniteMagnitude, 2, 0), inf)
        XCTAssertEqual(PortableMath.fma(0, 1, -0.0).bitPattern, Float(0).bitPattern)      // +0 + -0 = +0
        XCTAssertEqual(PortableMath.fma(-0.0, 1, -0.0).bitPattern, Float(-0.0).bitPattern)
        // x * y = 1 + 2^-11 + 2^-24 exactly: halfway between two floats (a tie to even rounds
        // down). c = +-2^-70 breaks the tie; a * b + c in double loses c and rounds down both times.
        let x: Float = 1 + 0x1p-12, y: Float = 1 + 0x1p-12, c: Float = 0x1p-70
        XCTAssertEqual(PortableMath.fma(x, y, c), (1 as Float) + 0x1p-11 + 0x1p-23)
        XCTAssertEqual(PortableMath.fma(x, y, -c), (1 as Float) + 0x1p-11)
        XCTAssertEqual(PortableMath.fma(x, y, c), c.addingProduct(x, y))
        XCTAssertNotEqual(Float(Double(x) * Double(y) + Double(c)), c.addingProduct(x, y))
    }
}
