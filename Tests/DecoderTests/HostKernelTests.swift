// The host kernels (Sources/VAEHostKernels, C, one body per instruction-set level) against the
// runtime's Swift reference kernel, bit for bit, on every level this machine can run, forced in
// turn: random layer shapes (narrow inputs, odd channel counts, one- and two-vector rows), every
// activation, signed zeros in the data. And the portable level's software fused multiply-add
// against the hardware one.
import CPUFeatures
import VAEHostKernels
import XCTest
@testable import VAEDecoder

final class HostKernelTests: XCTestCase {
    struct Values {
        var s: UInt64
        mutating func bits() -> UInt64 { s = s &* 6364136223846793005 &+ 1442695040888963407; return s }
        mutating func next() -> Float {
            let r = Int(truncatingIfNeeded: bits() >> 40) % 64
            if r == 0 { return 0 }
            if r == 1 { return -0.0 }
            return Float(Int32(truncatingIfNeeded: bits() >> 33)) / Float(1 << 30) / 2
        }
        mutating func below(_ n: Int) -> Int { Int(bits() >> 33) % n }

        /// Any finite float, every exponent equally likely.
        mutating func randomFloat() -> Float {
            let e = UInt32(below(254) + 1), m = UInt32(truncatingIfNeeded: bits() >> 41) & 0x7F_FFFF
            let f = Float(bitPattern: (e << 23) | m)
            return below(2) == 0 ? f : -f
        }

        /// A triple (a, b, c) for a fused multiply-add a * b + c, of one of eight kinds, most of
        /// them the cases that break a naive a * b + c in double.
        mutating func fmaTriple(kind: Int) -> (Float, Float, Float) {
            switch kind {
            case 0:   // anything finite
                let a = randomFloat(), b = randomFloat(); return (a, b, randomFloat())
            case 1:   // similar magnitudes, so the sum is rounded in earnest
                let a = next() * 4, b = next() * 4; return (a, b, next() * 4)
            case 2:   // c cancels the product's leading bits
                let a = next() * 8, b = next() * 8
                let p = a * b
                return (a, b, -p + (below(2) == 0 ? p.ulp : -p.ulp) * Float(below(3)))
            case 3:   // exact product halfway between two floats, nudged by a tiny c
                let x = Float(1 + 2 * below(1 << 11)), y = Float(1 + 2 * below(1 << 12))
                return (x * Float(1 << 12), y,
                        (below(3) == 0 ? 0 : (below(2) == 0 ? 1 : -1)) * Float.leastNonzeroMagnitude * Float(1 + below(4)))
            case 4:   // subnormal results and signed zeros
                let a = Float(bitPattern: UInt32(below(1 << 23))) * (below(2) == 0 ? 1 : -1)
                let b = next()
                return (a, b, [Float(0), -0.0, Float.leastNormalMagnitude, -Float.leastNonzeroMagnitude][below(4)])
            case 5:   // near overflow
                let a = Float.greatestFiniteMagnitude * next(), b = 2 + next(); return (a, b, randomFloat())
            case 6:   // double rounding: a * b + c just off a float midpoint, by less than a double
                      // ulp, so rounding a * b + c in double first lands on the midpoint
                let x = Float(1 + 2 * below(1 << 11)), y = Float(1 + 2 * below(1 << 12))
                let a = x * Float(1 << 12), b = y * (below(2) == 0 ? 1 : -1)
                let tiny = Float(bitPattern: UInt32(below(40) + 1) << 23)   // 2^-126 .. 2^-87
                return (a, b, (below(2) == 0 ? tiny : -tiny) * Float(1 + below(7)))
            default:  // any bit pattern: infinities, NaNs, subnormals
                func any() -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: bits() >> 32)) }
                let a = any(), b = any()
                return (a, b, below(4) == 0 ? [Float.infinity, -.infinity, .nan, 0][below(4)] : any())
            }
        }
    }

    func testEveryLevelMatchesTheReferenceOnRandomLayers() {
        var v = Values(s: 7)
        let levels = KernelPath.available.filter { $0.rawValue >= 0 }
        XCTAssertTrue(levels.contains(.portable))
        if KernelPath.best == .avx512vnni { XCTAssertEqual(levels, [.portable, .avx2, .avx512, .avx512vnni]) }
        let acts: [Activation] = [.none, .relu, .leakyReLU, .sigmoid]
        for trial in 0..<60 {
            let k = 1 + v.below(10), side = 1 + v.below(trial % 3 == 0 ? 4 : 20)
            let os = side + k - 1
            guard os <= Capacity.maxSide else { continue }
            let inC = 1 + v.below(6), outC = 1 + v.below(7)
            let wCount = inC * outC * k * k, slack = 16   // floats readable on each side: 64 bytes
            let wAll = UnsafeMutablePointer<Float>.allocate(capacity: wCount + 2 * slack)
            let b = UnsafeMutablePointer<Float>.allocate(capacity: outC)
            let x = UnsafeMutablePointer<Float>.allocate(capacity: inC * side * side)
            let ref = UnsafeMutablePointer<Float>.allocate(capacity: outC * os * os)
            let got = UnsafeMutablePointer<Float>.allocate(capacity: outC * os * os)
            defer { wAll.deallocate(); b.deallocate(); x.deallocate(); ref.deallocate(); got.deallocate() }
            for i in 0..<(wCount + 2 * slack) { wAll[i] = v.next() }
            for i in 0..<outC { b[i] = v.next() }
            for i in 0..<(inC * side * side) { x[i] = v.next() * 3 }
            var l = DecoderLayer()
            l.inChannels = inC; l.outChannels = outC; l.kernel = k; l.inSide = side
            l.activation = acts[trial % 4]; l.slope = 0.01
            l.weights = UnsafePointer(wAll + slack); l.bias = UnsafePointer(b); l.weightSlackBytes = 4 * slack
            KernelPath.reference.run(l, x, ref, scratch: nil)
            for level in levels {
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: level.scratchFloats(l))
                defer { scratch.deallocate() }
                got.update(repeating: .nan, count: outC * os * os)
                level.run(l, x, got, scratch: scratch)
                var bad = 0
                for i in 0..<(outC * os * os) where got[i].bitPattern != ref[i].bitPattern { bad += 1 }
                XCTAssertEqual(bad, 0, "\(level.name): k \(k) side \(side) in \(inC) out \(outC) \(l.activation): \(bad) outputs differ")
            }
        }
    }

    /// The software fused multiply-add (round to odd in double) against the hardware instruction
    /// (Float.addingProduct: libm's fmaf, itself correctly rounded), on random triples and on the
    /// cases that break a naive a * b + c in double: sums that land halfway between two floats,
    /// cancellation, signed zeros, subnormal results, overflow.
    func testSoftwareFusedMultiplyAddIsCorrectlyRounded() {
        var v = Values(s: 11)
        var a = [Float](repeating: 0, count: 16), b = a, c = a, out = a
        var bad = 0, checked = 0
        for round in 0..<40_000 {
            for i in 0..<16 { (a[i], b[i], c[i]) = v.fmaTriple(kind: (round + i) % 6) }
            vae_fma_soft16(a, b, c, &out)
            for i in 0..<16 {
                let want = c[i].addingProduct(a[i], b[i])
                checked += 1
                if want.bitPattern != out[i].bitPattern && !(want.isNaN && out[i].isNaN) {
                    bad += 1
                    if bad <= 5 { print("fma(\(a[i]), \(b[i]), \(c[i])) = \(want) but the software path gives \(out[i])") }
                }
            }
        }
        XCTAssertEqual(bad, 0, "of \(checked) triples")
        XCTAssertEqual(checked, 640_000)
    }

    func testTheSwitchForcesALevelAndNeverExceedsTheCPU() {
        let top = vae_isa_detected()
        defer { vae_isa_force(-1) }
        XCTAssertEqual(vae_isa_force(Int32(VAE_ISA_PORTABLE)), Int32(VAE_ISA_PORTABLE))
        XCTAssertEqual(KernelPath.automatic, .portable)
        XCTAssertEqual(vae_isa_force(99), top, "a level above the CPU's is clamped to what it has")
        XCTAssertEqual(KernelPath.automatic.rawValue, top)
    }
}

final class HostCRCTests: XCTestCase {
    /// The host's table-driven CRC against the targets' nibble loop, on every length 0 ..< 64 at
    /// every alignment, and on the shipped decoder image; and the standard check value.
    func testHostCRCEqualsTheNibbleLoop() throws {
        var v = HostKernelTests.Values(s: 3)
        let bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: v.bits() >> 40) }
        bytes.withUnsafeBytes { all in
            for start in 0..<8 {
                for len in 0..<64 {
                    let b = UnsafeRawBufferPointer(rebasing: all[start..<(start + len)])
                    XCTAssertEqual(CRC32.update(0x1234_5678, b), CRC32.nibbles(0x1234_5678, b), "start \(start) length \(len)")
                }
            }
            XCTAssertEqual(CRC32.update(0, all), CRC32.nibbles(0, all))
        }
        Array("123456789".utf8).withUnsafeBytes { XCTAssertEqual(CRC32.checksum($0), 0xCBF4_3926) }
    }
}
