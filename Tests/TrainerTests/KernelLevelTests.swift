import CPUFeatures
import Checkpoint
import TrainerKernels
import XCTest
@testable import VAETrainer

/// The C kernels (Sources/TrainerKernels) at every instruction-set level this host can run,
/// held bit-equal to the Swift generic kernels (the ref* functions in Kernels.swift, and
/// Float.vexpReference), which are the plain definition of each result: this test compares
/// against them, not against recorded outputs. Swift computes their fused multiply-adds as
/// correctly rounded fmaf, which is what the old AVX-512 build's vfmadd instructions gave.
final class KernelLevelTests: XCTestCase {
    /// The levels this host runs, each forced in turn; the selection is put back afterwards.
    func levels() -> [Int32] {
        let all = [Int32(VAE_ISA_PORTABLE), Int32(VAE_ISA_AVX2), Int32(VAE_ISA_AVX512), Int32(VAE_ISA_AVX512VNNI), Int32(VAE_ISA_NEON)]
        let saved = vae_isa_selected()
        defer { vae_isa_force(saved) }
        let ok = all.filter { vae_isa_force($0) == $0 }
        // The portable level always runs, and on this project's x86-64 and arm64 hosts a
        // vector level too; a test that only ever ran one level would prove nothing.
        XCTAssert(ok.contains(Int32(VAE_ISA_PORTABLE)) && ok.contains(vae_isa_detected()))
        #if arch(x86_64) || arch(arm64)
        XCTAssertGreaterThan(ok.count, 1, "no vector level detected")
        #endif
        return ok
    }

    func atEachLevel(_ body: (String) -> Void) {
        let saved = vae_isa_selected()
        defer { vae_isa_force(saved) }
        for l in levels() {
            XCTAssertEqual(vae_isa_force(l), l)
            body(String(cString: vae_isa_name(l)))
        }
    }

    struct Gen {
        var s: UInt64
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }
        /// Mostly in [-2, 2), with exact zeros of both signs now and then.
        mutating func value() -> Float {
            switch next() % 32 {
            case 0: return 0
            case 1: return -0.0
            default: return unit() * 4 - 2
            }
        }
        mutating func lanes(_ n: Int) -> [SIMD16<Float>] {
            (0..<n).map { _ in var v = SIMD16<Float>(); for i in 0..<16 { v[i] = value() }; return v }
        }
        mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in value() } }
    }

    func bits(_ v: [SIMD16<Float>]) -> [UInt32] { v.flatMap { x in (0..<16).map { x[$0].bitPattern } } }
    func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

    // MARK: software fma

    /// The portable level's fma (double arithmetic rounded to odd) against the hardware's, or
    /// libm's, which are correctly rounded, on random and hard triples.
    func testSoftwareFMAIsCorrectlyRounded() {
        var g = Gen(s: 1)
        var a: [Float] = [], b: [Float] = [], c: [Float] = []
        func add(_ x: Float, _ y: Float, _ z: Float) { a.append(x); b.append(y); c.append(z) }
        func anyFloat() -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: g.next())) }
        func mant() -> Float { 1 + Float(g.next() % (1 << 23)) * 0x1p-23 }
        func sign() -> Float { g.next() & 1 == 0 ? 1 : -1 }
        for _ in 0..<60_000 {
            // Any bit patterns: every exponent, subnormals, infinities, NaNs.
            add(anyFloat(), anyFloat(), anyFloat())
            // Products near half an ulp of c, on both sides and exactly on it: where rounding the
            // double sum to nearest (instead of to odd) would round a second time wrongly.
            let cz = sign() * mant() * Float(sign: .plus, exponent: Int(g.next() % 200) - 100, significand: 1)
            let i = Float(g.next() % 3), j = Float(g.next() % 64)
            add(sign() * (1 + i * 0x1p-23), (cz.ulp / 2) * (1 + sign() * j * 0x1p-23), cz)
            // Cancellation: c = -round(a*b), so the result is the product's rounding error.
            let x = sign() * mant(), y = sign() * mant()
            add(x, y, -(x * y))
            add(x, y, -(x * y).nextUp)
            // Tiny and huge: results that underflow into subnormals, or overflow.
            let e1 = Int(g.next() % 60) - 100, e2 = Int(g.next() % 60) - 100
            add(x * Float(sign: .plus, exponent: e1, significand: 1), y * Float(sign: .plus, exponent: e2, significand: 1),
                sign() * Float.leastNonzeroMagnitude * Float(g.next() % 1000))
            add(x * 0x1p100, y * 0x1p27, sign() * Float.greatestFiniteMagnitude)
        }
        // Zeros of both signs, and zero products against zero and non-zero c.
        for x: Float in [0, -0.0, 1, -1, .leastNonzeroMagnitude, -.leastNonzeroMagnitude] {
            for y: Float in [0, -0.0, 3, -3, .infinity, 0x1p-100] {
                for z: Float in [0, -0.0, 1, -.leastNonzeroMagnitude, .infinity, -.infinity, .nan] { add(x, y, z) }
            }
        }
        while a.count % 16 != 0 { add(0, 0, 0) }
        XCTAssertEqual([b.count, c.count], [a.count, a.count])
        let expected = zip(zip(a, b), c).map { $0.1.addingProduct($0.0.0, $0.0.1) }
        atEachLevel { level in
            var out = [Float](repeating: 0, count: a.count)
            vae_tk_fma_lanes(a, b, c, &out, a.count / 16)
            var bad = 0
            for i in 0..<a.count {
                let same = out[i].bitPattern == expected[i].bitPattern || (out[i].isNaN && expected[i].isNaN)
                if !same {
                    if bad < 5 { XCTFail("\(level): fma(\(a[i]), \(b[i]), \(c[i])) = \(out[i]), expected \(expected[i])") }
                    bad += 1
                }
            }
            XCTAssertEqual(bad, 0, "\(level): \(bad) of \(a.count) wrong")
        }
    }

    // MARK: kernels

    func testLinearKernelsMatchTheSwiftReference() {
        var g = Gen(s: 2)
        // Shapes with every tail: rows and cols not multiples of the 4- and 2-wide tiles.
        for (rows, cols) in [(11, 7), (8, 12), (3, 2), (16, 9)] {
            let w = g.floats(rows * cols), x = g.lanes(cols), out0 = g.lanes(rows), dy = g.lanes(rows), dx0 = g.lanes(cols)
            var refOut = out0, refDx = dx0
            refGemvLanes(w, rows: rows, cols: cols, x, &refOut)
            refGemvTLanes(w, rows: rows, cols: cols, dy, &refDx)
            let steps = 3
            let dys = g.lanes(steps * (rows + 1)), xs = g.lanes(steps * (cols + 2)), gw0 = g.floats(rows * cols)
            var refGw = gw0, refGw1 = gw0
            refOuterAccumulate(dys, dyStride: rows + 1, xs, xStride: cols + 2, steps: steps, rows: rows, cols: cols, &refGw)
            refOuterAccumulate(dys, dyStride: 0, xs, xStride: 0, steps: 1, rows: rows, cols: cols, &refGw1)
            atEachLevel { level in
                var o = out0, d = dx0, gw = gw0, gw1 = gw0
                gemvLanes(w, rows: rows, cols: cols, x, &o)
                gemvTLanes(w, rows: rows, cols: cols, dy, &d)
                outerAccumulate(dys, dyStride: rows + 1, xs, xStride: cols + 2, steps: steps, rows: rows, cols: cols, &gw)
                outerAccumulate(dys, dyStride: 0, xs, xStride: 0, steps: 1, rows: rows, cols: cols, &gw1)
                XCTAssertEqual(bits(o), bits(refOut), "gemvLanes \(rows)x\(cols) at \(level)")
                XCTAssertEqual(bits(d), bits(refDx), "gemvTLanes \(rows)x\(cols) at \(level)")
                XCTAssertEqual(bits(gw), bits(refGw), "outerAccumulate \(rows)x\(cols) at \(level)")
                XCTAssertEqual(bits(gw1), bits(refGw1), "outerAccumulate steps 1 \(rows)x\(cols) at \(level)")
            }
            XCTAssertNotEqual(bits(refOut), bits(out0))
        }
    }

    func testDeconvKernelsMatchTheSwiftReference() {
        var g = Gen(s: 3)
        // Channel counts off the 4-wide tiles, kernels below and above 4 wide, and the model's
        // own first layer shape (64 x 1 x 1 -> 7 x 7 with k = 7 would be slow in the reference).
        for (inC, outC, side, k) in [(5, 7, 4, 3), (6, 5, 3, 5), (4, 8, 2, 4), (1, 2, 1, 6)] {
            let os = side + k - 1
            let input = g.lanes(inC * side * side), w = g.floats(inC * outC * k * k), b = g.floats(outC)
            let dOut = g.lanes(outC * os * os), gw0 = g.floats(inC * outC * k * k), gb0 = g.floats(outC)
            var refY = [SIMD16<Float>](repeating: .zero, count: outC * os * os)
            var refDIn = [SIMD16<Float>](repeating: .zero, count: inC * side * side)
            var refGw = gw0, refGb = gb0
            refDeconvForward(input: input, inC: inC, side: side, w: w, b: b, outC: outC, k: k, output: &refY)
            refDeconvBackwardInput(dOut: dOut, outC: outC, side: side, w: w, inC: inC, k: k, dIn: &refDIn)
            refDeconvBackwardWeights(input: input, inC: inC, side: side, dOut: dOut, outC: outC, k: k, gw: &refGw, gb: &refGb)
            atEachLevel { level in
                let tag = "\(inC)x\(side)x\(side) -> \(outC), k \(k) at \(level)"
                var y = [SIMD16<Float>](repeating: .zero, count: outC * os * os)
                var dIn = [SIMD16<Float>](repeating: .zero, count: inC * side * side)
                var gw = gw0, gb = gb0
                deconvForward(input: input, inC: inC, side: side, w: w, b: b, outC: outC, k: k, output: &y)
                deconvBackwardInput(dOut: dOut, outC: outC, side: side, w: w, inC: inC, k: k, dIn: &dIn)
                deconvBackwardWeights(input: input, inC: inC, side: side, dOut: dOut, outC: outC, k: k, gw: &gw, gb: &gb)
                XCTAssertEqual(bits(y), bits(refY), "deconvForward " + tag)
                XCTAssertEqual(bits(dIn), bits(refDIn), "deconvBackwardInput " + tag)
                XCTAssertEqual(bits(gw), bits(refGw), "deconvBackwardWeights (w) " + tag)
                XCTAssertEqual(bits(gb), bits(refGb), "deconvBackwardWeights (b) " + tag)
            }
        }
    }

    func testNonlinearitiesMatchTheSwiftReference() {
        var g = Gen(s: 4)
        // exp over its whole clamp range and past it, with the clamp's edges and specials.
        var xs: [Float] = [0, -0.0, -87.3, 88.7, -87.30001, 88.70001, -1000, 1000, .infinity, -.infinity, .nan,
                           .leastNonzeroMagnitude, -.greatestFiniteMagnitude, 0.5, -0.5, 0.34657359, -0.34657359]
        for _ in 0..<20_000 { xs.append(g.unit() * 200 - 100) }
        for _ in 0..<4_000 { xs.append(g.unit() * 2 - 1) }
        while xs.count % 16 != 0 { xs.append(g.value()) }
        let n = xs.count / 16
        let lanes = (0..<n).map { i in SIMD16<Float>((0..<16).map { xs[i * 16 + $0] }) }
        let refExp = lanes.map { Float.vexpReference($0) }
        var refSig = lanes
        refSigmoidLanes(&refSig, n)
        // An LSTM step: pre-activations from saturated to small, H off any tile.
        let H = 13
        let gates0 = (0..<(4 * H)).map { _ in SIMD16<Float>((0..<16).map { _ in (g.unit() * 2 - 1) * (g.next() % 4 == 0 ? 40 : 4) }) }
        let cPrev = g.lanes(H)
        var refG = gates0, refC = g.lanes(H), refT = refC, refH = refC
        refLSTMCellForward(&refG, cPrev, &refC, &refT, &refH, H: H)
        atEachLevel { level in
            var e = [SIMD16<Float>](repeating: .zero, count: n)
            lanes.withUnsafeBytes { src in
                e.withUnsafeMutableBytes { dst in
                    vae_tk_exp_lanes(src.baseAddress!.assumingMemoryBound(to: Float.self),
                                     dst.baseAddress!.assumingMemoryBound(to: Float.self), n)
                }
            }
            XCTAssertEqual(bits(e), bits(refExp), "exp at \(level)")
            XCTAssertEqual(bits(lanes.map { Float.vexp($0) }), bits(refExp), "Float.vexp at \(level)")
            var s = lanes
            sigmoidLanes(&s, n)
            XCTAssertEqual(bits(s), bits(refSig), "sigmoid at \(level)")
            var gt = gates0, c = [SIMD16<Float>](repeating: .zero, count: H), t = c, h = c
            lstmCellForward(&gt, cPrev, &c, &t, &h, H: H)
            XCTAssertEqual(bits(gt), bits(refG), "LSTM gates at \(level)")
            XCTAssertEqual(bits(c) + bits(t) + bits(h), bits(refC) + bits(refT) + bits(refH), "LSTM state at \(level)")
        }
    }

    /// The wide register tiles (AVX-512's 16-row, 16-column and 4 x 4 tiles, 8-channel deconv
    /// tiles) at shapes with whole tiles and every kind of remainder, and the model's own shapes.
    func testWideTilesMatchTheSwiftReference() {
        var g = Gen(s: 5)
        for (rows, cols) in [(37, 21), (64, 33), (16, 16), (512, 28), (19, 130)] {
            let w = g.floats(rows * cols), x = g.lanes(cols), out0 = g.lanes(rows), dy = g.lanes(rows), dx0 = g.lanes(cols)
            var refOut = out0, refDx = dx0
            refGemvLanes(w, rows: rows, cols: cols, x, &refOut)
            refGemvTLanes(w, rows: rows, cols: cols, dy, &refDx)
            let steps = 5
            let dys = g.lanes(steps * (rows + 1)), xs = g.lanes(steps * (cols + 2)), gw0 = g.floats(rows * cols)
            var refGw = gw0
            refOuterAccumulate(dys, dyStride: rows + 1, xs, xStride: cols + 2, steps: steps, rows: rows, cols: cols, &refGw)
            // Several right-hand sides (7: one group of four and three left), strided.
            let n = 7
            let xm = g.lanes(n * (cols + 3)), om0 = g.lanes(n * (rows + 2))
            var refOm = om0
            refGemvLanesMulti(w, rows: rows, cols: cols, xm, xStride: cols + 3, &refOm, outStride: rows + 2, n: n)
            var refOmLoop = om0
            for t in 0..<n {
                var o = Array(refOmLoop[(t * (rows + 2))..<(t * (rows + 2) + rows)])
                refGemvLanes(w, rows: rows, cols: cols, Array(xm[(t * (cols + 3))..<(t * (cols + 3) + cols)]), &o)
                refOmLoop.replaceSubrange((t * (rows + 2))..<(t * (rows + 2) + rows), with: o)
            }
            XCTAssertEqual(bits(refOm), bits(refOmLoop), "refGemvLanesMulti is gemvLanes per step")
            atEachLevel { level in
                var o = out0, d = dx0, gw = gw0, om = om0
                gemvLanes(w, rows: rows, cols: cols, x, &o)
                gemvTLanes(w, rows: rows, cols: cols, dy, &d)
                outerAccumulate(dys, dyStride: rows + 1, xs, xStride: cols + 2, steps: steps, rows: rows, cols: cols, &gw)
                gemvLanesMulti(w, rows: rows, cols: cols, xm, xStride: cols + 3, &om, outStride: rows + 2, n: n)
                XCTAssertEqual(bits(o), bits(refOut), "gemvLanes \(rows)x\(cols) at \(level)")
                XCTAssertEqual(bits(d), bits(refDx), "gemvTLanes \(rows)x\(cols) at \(level)")
                XCTAssertEqual(bits(gw), bits(refGw), "outerAccumulate \(rows)x\(cols) at \(level)")
                XCTAssertEqual(bits(om), bits(refOm), "gemvLanesMulti \(rows)x\(cols) at \(level)")
            }
            XCTAssertNotEqual(bits(refGw), bits(gw0))
        }
        // Deconvolutions: channels at 8 and past it (8-channel tiles plus 4- and 1-channel rest),
        // inC a multiple of 4 and not, and the standard model's layers 0 and 1.
        // Then every layer of the --decoder-layers 4, 5 and 8 plans (kernels 3 to 11, sides 2 to 26).
        var shapes = [(9, 13, 3, 5), (16, 13, 2, 9), (13, 10, 3, 7), (8, 8, 2, 4), (11, 17, 2, 3), (4, 2, 4, 3)]
        for n in [4, 5, 8] {
            let c = ModelConfig.decoder(layers: n)
            for (i, l) in c.layers.enumerated() { shapes.append((l.inChannels, l.outChannels, c.side(atLayer: i), l.kernel)) }
        }
        for (inC, outC, side, k) in shapes {
            let os = side + k - 1
            let input = g.lanes(inC * side * side), w = g.floats(inC * outC * k * k), b = g.floats(outC)
            let dOut = g.lanes(outC * os * os), gw0 = g.floats(inC * outC * k * k), gb0 = g.floats(outC)
            var refY = [SIMD16<Float>](repeating: .zero, count: outC * os * os)
            var refDIn = [SIMD16<Float>](repeating: .zero, count: inC * side * side)
            var refGw = gw0, refGb = gb0
            refDeconvForward(input: input, inC: inC, side: side, w: w, b: b, outC: outC, k: k, output: &refY)
            refDeconvBackwardInput(dOut: dOut, outC: outC, side: side, w: w, inC: inC, k: k, dIn: &refDIn)
            refDeconvBackwardWeights(input: input, inC: inC, side: side, dOut: dOut, outC: outC, k: k, gw: &refGw, gb: &refGb)
            atEachLevel { level in
                let tag = "\(inC)x\(side)x\(side) -> \(outC), k \(k) at \(level)"
                var y = [SIMD16<Float>](repeating: .zero, count: outC * os * os)
                var dIn = [SIMD16<Float>](repeating: .zero, count: inC * side * side)
                var gw = gw0, gb = gb0
                deconvForward(input: input, inC: inC, side: side, w: w, b: b, outC: outC, k: k, output: &y)
                deconvBackwardInput(dOut: dOut, outC: outC, side: side, w: w, inC: inC, k: k, dIn: &dIn)
                deconvBackwardWeights(input: input, inC: inC, side: side, dOut: dOut, outC: outC, k: k, gw: &gw, gb: &gb)
                XCTAssertEqual(bits(y), bits(refY), "deconvForward " + tag)
                XCTAssertEqual(bits(dIn), bits(refDIn), "deconvBackwardInput " + tag)
                XCTAssertEqual(bits(gw), bits(refGw), "deconvBackwardWeights (w) " + tag)
                XCTAssertEqual(bits(gb), bits(refGb), "deconvBackwardWeights (b) " + tag)
            }
        }
    }

    /// The elementwise passes of Shard (activations, the BCE and its gradient, the LSTM cell's
    /// backward step) against their Swift definitions, with zeros of both signs, values at the
    /// BCE's clamp, 0 and 1 as outputs, and saturated gates.
    func testElementwisePassesMatchTheSwiftReference() {
        var g = Gen(s: 6)
        let n = 97
        let v = g.lanes(n), a0 = g.lanes(n), d0 = g.lanes(n)
        // Activation outputs: exact zeros of both signs come from Gen.value; sigmoid outputs in [0, 1].
        let sig = (0..<n).map { _ in SIMD16<Float>((0..<16).map { _ in g.next() % 16 == 0 ? Float(g.next() % 2) : g.unit() }) }
        let targets = (0..<n).map { _ in SIMD16<Float>((0..<16).map { _ in g.next() % 3 == 0 ? Float(g.next() % 2) : g.unit() }) }
        // Probabilities from 0 and 1 exactly through tiny (log below -100) to ordinary.
        let probs = (0..<n).map { _ in
            SIMD16<Float>((0..<16).map { _ in
                switch g.next() % 8 {
                case 0: return Float(g.next() % 2)
                case 1: return Float(g.unit()) * 1e-30
                case 2: return 1 - Float(g.unit()) * 1e-7
                default: return g.unit()
                }
            })
        }
        var mask = SIMD16<Float>(repeating: 1); mask[13] = 0; mask[14] = 0; mask[15] = 0
        let H = 37
        let gates = (0..<(4 * H)).map { _ in SIMD16<Float>((0..<16).map { _ in g.unit() }) }
        let cp = g.lanes(H), tct = (0..<H).map { _ in SIMD16<Float>((0..<16).map { _ in g.unit() * 2 - 1 }) }
        let dh = g.lanes(H), dc0 = g.lanes(H)
        var refs: [[UInt32]] = []
        do {
            for act in [ModelConfig.Activation.relu, .leakyReLU, .sigmoid] {
                var o = v
                refActivationForward(&o, n, act, slope: 0.01)
                var d = d0
                refActivationBackward(&d, act == .sigmoid ? sig : a0, n, act, slope: 0.01)
                refs.append(bits(o)); refs.append(bits(d))
            }
            refs.append(bits([refBCEForward(probs, targets, n)]))
            var d = d0
            refBCEBackward(probs, targets, mask: mask, n, &d)
            refs.append(bits(d))
            var dc = dc0, dA = [SIMD16<Float>](repeating: .zero, count: 4 * H)
            refLSTMCellBackward(gates, cp, tct, dh, &dc, &dA, H: H)
            refs.append(bits(dc) + bits(dA))
        }
        XCTAssertNotEqual(refs[0], bits(v), "ReLU changed nothing")
        XCTAssert(refs[6].allSatisfy { Float(bitPattern: $0).isFinite }, "BCE not finite")
        atEachLevel { level in
            var got: [[UInt32]] = []
            for act in [ModelConfig.Activation.relu, .leakyReLU, .sigmoid] {
                var o = v
                activationForward(&o, n, act, slope: 0.01)
                var d = d0
                activationBackward(&d, act == .sigmoid ? sig : a0, n, act, slope: 0.01)
                got.append(bits(o)); got.append(bits(d))
            }
            got.append(bits([bceForward(probs, targets, n)]))
            var d = d0
            bceBackward(probs, targets, mask: mask, n, &d)
            got.append(bits(d))
            var dc = dc0, dA = [SIMD16<Float>](repeating: .zero, count: 4 * H)
            lstmCellBackward(gates, cp, tct, dh, &dc, &dA, H: H)
            got.append(bits(dc) + bits(dA))
            let names = ["relu", "relu'", "leaky", "leaky'", "sigmoid", "sigmoid'", "bce", "bce'", "lstm backward"]
            for i in 0..<names.count { XCTAssertEqual(got[i], refs[i], "\(names[i]) at \(level)") }
        }
    }

    /// The whole trainer, every kernel at its call site: one epoch of a few batches gives the same
    /// weights and Adam moments at every level.
    func testTrainingIsBitEqualAtEveryLevel() throws {
        let train = try MNIST.loadImages(Fixtures.path("mnist-train-first512.idx3.gz")).prefix(48)
        let val = try MNIST.loadImages(Fixtures.path("mnist-test-first256.idx3.gz")).prefix(16)
        var h = Hyper(); h.seed = 3; h.batch = 24
        // The standard model and two --decoder-layers/--activation variants.
        for config in [ModelConfig.standard, .decoder(layers: 4, activation: .relu), .decoder(layers: 8, activation: .leakyReLU(slope: 0.2))] {
            var results: [(String, [UInt32], Double)] = []
            atEachLevel { level in
                let t = Trainer(state: TrainState(config: config, hyper: h), threads: 2)
                let r = t.runEpoch(train: train, validation: val)
                results.append((level, (t.state.params + t.state.adamM + t.state.adamV).map(\.bitPattern), r.valTotal))
            }
            let tag = "\(config.layers.count) layers, \(config.layers[0].activation)"
            let initial = TrainState(config: config, hyper: h).params.map(\.bitPattern)
            XCTAssertNotEqual(Array(results[0].1.prefix(initial.count)), initial, "training changed nothing (\(tag))")
            for r in results.dropFirst() {
                XCTAssert(r.1 == results[0].1, "\(r.0) differs from \(results[0].0) (\(tag))")
                XCTAssertEqual(r.2.bitPattern, results[0].2.bitPattern, "\(r.0): validation loss (\(tag))")
            }
        }
    }
}
