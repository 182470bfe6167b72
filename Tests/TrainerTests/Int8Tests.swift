import Checkpoint
import Foundation
import VAEDecoder
@testable import VAETrainer
import XCTest

/// The trainer's int8 side against values worked out by hand from docs/quantisation.md, and the
/// exporter's invariants.
final class Int8Tests: XCTestCase {
    // MARK: section 3

    func testLatentRoundsHalvesAwayFromZeroClampsAndZeroesNaN() {
        let z: [Float] = [0.25, -0.25, 0.74, 1.25, -1.25, 100, -.infinity, .infinity, .nan, 0]
        // x 2: 0.5, -0.5, 1.48, 2.5, -2.5, 200, -inf, inf, nan, 0
        XCTAssertEqual(Int8Reference.quantiseLatent(z, inverseScale: 2, qmax: 10), [1, -1, 1, 3, -3, 10, -10, 10, 0, 0])
    }

    // MARK: section 4, hidden layers

    func testRequantisationRoundsHalfTowardPlusInfinity() {
        let half = Int64(1) << 30   // M = 2^30, n = 31: times 0.5
        func rq(_ acc: Int64, relu: Bool = false, zp: Int32 = 0, qmin: Int32 = -128, qmax: Int32 = 127) -> Int32 {
            Int8Reference.requantise(acc, mPos: half, nPos: 31, mNeg: half, nNeg: 31, relu: relu, zeroPoint: zp, qmin: qmin, qmax: qmax)
        }
        XCTAssertEqual(rq(5), 3)     //  2.5 ->  3
        XCTAssertEqual(rq(-5), -2)   // -2.5 -> -2
        XCTAssertEqual(rq(-3), -1)   // -1.5 -> -1
        XCTAssertEqual(rq(-7), -3)   // -3.5 -> -3
        XCTAssertEqual(rq(3), 2)     //  1.5 ->  2
        XCTAssertEqual(rq(-1), 0)    // -0.5 ->  0
        XCTAssertEqual(rq(-2), -1)   // -1   -> -1 exactly
        XCTAssertEqual(rq(0, zp: 7), 7)
        XCTAssertEqual(rq(-5, relu: true, zp: 3), 3)                 // ReLU: v = 0, then the zero point
        XCTAssertEqual(rq(1000, zp: 5), 127)                          // clamp above
        XCTAssertEqual(rq(-1000, zp: -5), -128)                       // clamp below
        XCTAssertEqual(rq(100_000, qmin: -32767, qmax: 32767), 32767) // int16 clamp
        // The largest accumulator and multiplier the loader allows: exact in int64.
        let big = Int64(Int32.max)
        XCTAssertEqual(Int8Reference.requantise(big, mPos: big, nPos: 62, mNeg: 0, nNeg: 62, relu: false, zeroPoint: 0, qmin: -32767, qmax: 32767), 1)
    }

    func testLeakyReLUUsesTheNegativeMultiplier() {
        // M_pos x 0.5, M_neg x 0.125 (2^30 / 2^33).
        func rq(_ acc: Int64) -> Int32 {
            Int8Reference.requantise(acc, mPos: 1 << 30, nPos: 31, mNeg: 1 << 30, nNeg: 33, relu: false, zeroPoint: -10, qmin: -128, qmax: 127)
        }
        XCTAssertEqual(rq(2), -9)     //  1      + zp
        XCTAssertEqual(rq(-13), -12)  // -1.625 -> -2
        XCTAssertEqual(rq(-4), -10)   // -0.5   ->  0
        XCTAssertEqual(rq(-12), -11)  // -1.5   -> -1
        XCTAssertEqual(rq(-20), -12)  // -2.5   -> -2
    }

    // MARK: section 4, last layer

    func testPixelThresholdEdges() {
        let t = ArraySlice((0..<255).map { Int32($0) - 100 })
        XCTAssertEqual(Int8Reference.pixel(-101, thresholds: t), 0)
        XCTAssertEqual(Int8Reference.pixel(-100, thresholds: t), 1)   // equal to a threshold counts
        XCTAssertEqual(Int8Reference.pixel(0, thresholds: t), 101)
        XCTAssertEqual(Int8Reference.pixel(153, thresholds: t), 254)
        XCTAssertEqual(Int8Reference.pixel(154, thresholds: t), 255)
        XCTAssertEqual(Int8Reference.pixel(Int64(Int32.max), thresholds: t), 255)
        let flat = ArraySlice([Int32](repeating: Int32.max, count: 255))
        XCTAssertEqual(Int8Reference.pixel(Int64(Int32.max) - 1, thresholds: flat), 0)
        XCTAssertEqual(Int8Reference.pixel(Int64(Int32.max), thresholds: flat), 255)
        let low = ArraySlice([Int32](repeating: Int32.min, count: 255))
        XCTAssertEqual(Int8Reference.pixel(Int64(Int32.min), thresholds: low), 255)
    }

    // MARK: a whole tiny decoder

    /// Latent 1 (view 1x1x1), a 2x2 LeakyReLU layer to int8 (zp -10), a 1x1 sigmoid layer.
    static func tinyDecoder() -> Int8Decoder {
        let l0 = Int8Layer(inChannels: 1, outChannels: 1, kernel: 2, activation: .leakyReLU, slope: 0.125,
                           weights: [2, -3, 0, 1], bias: [-4], requant: [1 << 30, 31, 1 << 30, 33],
                           outputWidth: 1, outputZeroPoint: -10, outputQmin: -128, outputQmax: 127)
        let l1 = Int8Layer(inChannels: 1, outChannels: 1, kernel: 1, activation: .sigmoid, slope: 0,
                           weights: [5], bias: [7], requant: (0..<255).map { Int32($0) - 5 },
                           outputWidth: 0, outputZeroPoint: 0, outputQmin: 0, outputQmax: 0)
        return Int8Decoder(latent: 1, viewChannels: 1, viewSide: 1, latentInverseScale: 4, latentQmax: 100, layers: [l0, l1])
    }

    func testTinyDecoderByHand() {
        let d = Self.tinyDecoder()
        XCTAssertNil(d.problem())
        // z 0.625 x 4 = 2.5 -> 3. Layer 0: acc = -4 + 3 w = [2, -13, -4, -1]
        //   -> [1, -2, 0, 0] (x 0.5 / x 0.125, half up) + zp -10 = [-9, -12, -10, -10].
        let x = Int8Reference.quantiseLatent([0.625], inverseScale: 4, qmax: 100)
        XCTAssertEqual(x, [3])
        let acc0 = Int8Reference.accumulate(d.layers[0], input: x, inSide: 1, inZeroPoint: 0)
        XCTAssertEqual(acc0, [2, -13, -4, -1])
        let y0 = Int8Reference.hiddenOutput(d.layers[0], acc: acc0)
        XCTAssertEqual(y0, [-9, -12, -10, -10])
        // Layer 1 sees x - zp = [1, -2, 0, 0]: acc = 7 + 5 xc = [12, -3, 7, 7]; pixel = acc + 6.
        let acc1 = Int8Reference.accumulate(d.layers[1], input: y0, inSide: 2, inZeroPoint: -10)
        XCTAssertEqual(acc1, [12, -3, 7, 7])
        XCTAssertEqual(Int8Reference.decode(d, latent: [0.625]), [18, 3, 13, 13])
        // A negative latent: -0.625 x 4 = -2.5 -> -3; acc0 = -4 - 3 w = [-10, 5, -4, -7]
        //   -> [-1.25 -> -1, 2.5 -> 3, -0.5 -> 0, -0.875 -> -1]; xc = [-1, 3, 0, -1];
        //   acc1 = [2, 22, 7, 2] -> pixels [8, 28, 13, 8].
        XCTAssertEqual(Int8Reference.decode(d, latent: [-0.625]), [8, 28, 13, 8])
    }

    func testAccumulatorOverlapsAndNegativeSums() {
        // 1 -> 1 channel, kernel 2, input 2x2 (int16, zp 0): outputs overlap in the middle.
        let l = Int8Layer(inChannels: 1, outChannels: 1, kernel: 2, activation: .none, slope: 0,
                          weights: [1, 2, 3, 4], bias: [-100], requant: [1 << 30, 30, 1 << 30, 30],
                          outputWidth: 2, outputZeroPoint: 0, outputQmin: -32767, outputQmax: 32767)
        let acc = Int8Reference.accumulate(l, input: [1, -2, 3, -4], inSide: 2, inZeroPoint: 0)
        // out[oy][ox] = -100 + sum x[iy][ix] w[oy-iy][ox-ix]
        XCTAssertEqual(acc, [-99, -100, -104, -94, -100, -116, -91, -100, -116])
    }

    // MARK: the image

    func testImageRoundTripsThroughTheTrainersParser() throws {
        let d = Self.tinyDecoder()
        let img = Int8ImageBuilder.build(d)
        XCTAssertEqual(try Int8ImageBuilder.parse(img, path: "tiny"), d)
    }

    // MARK: the exporter

    func testMultiplierRangesAndAccuracy() {
        for m in [1e-12, 3.7e-9, 1e-3, 0.0123, 0.5, 1, 1.0 - 1e-12, 1.9999999, 12345.678, 3e8] {
            let (M, n) = Quantiser.multiplier(m)
            XCTAssertTrue((1...62).contains(n), "n = \(n) for m = \(m)")
            XCTAssertGreaterThanOrEqual(M, 1)
            if n < 62 {
                XCTAssertTrue(M >= 1 << 30, "M = \(M) for m = \(m)")
                XCTAssertLessThanOrEqual(abs(Double(M) * pow(2, -Double(n)) - m) / m, pow(2, -30), "m = \(m)")
            }
        }
    }

    func testThresholdsAreNonDecreasingAndMatchTheFloatRule() {
        for s in [1e-6, 0.003, 0.5] {
            let t = Quantiser.thresholds(accScale: s)
            XCTAssertEqual(t.count, 255)
            XCTAssertFalse(zip(t, t.dropFirst()).contains { $0 > $1 })
            // Pixel j + 1 starts where round(255 sigmoid(acc s)) first reaches j + 1.
            for j in [0, 100, 127, 254] {
                func floatPixel(_ a: Int64) -> Int { Int((255 / (1 + exp(-Double(a) * s)) + 0.5).rounded(.down)) }
                XCTAssertGreaterThanOrEqual(floatPixel(Int64(t[j])), j + 1)
                XCTAssertLessThan(floatPixel(Int64(t[j]) - 1), j + 1)
            }
        }
    }

    func exporter(_ params: [Float]) -> (Quantiser, [Quantiser.TensorRange]) {
        let q = Quantiser(config: .standard, params: params, threads: 2)
        let lat = TrainerDecoder.seededLatents(seed: 5, count: 48, latent: 64)
        return (q, q.calibrate(lat))
    }

    func checkInvariants(_ e: Quantiser.Export, file: StaticString = #filePath, line: UInt = #line) throws {
        let d = e.decoder
        XCTAssertNil(d.problem(), file: file, line: line)
        for (i, l) in d.layers.enumerated() {
            for oc in 0..<l.outChannels {
                XCTAssertLessThanOrEqual(d.accumulatorWorstCase(layer: i, channel: oc), Int64(Int32.max), "layer \(i)", file: file, line: line)
                if l.isLast {
                    let t = l.requant[(oc * 255)..<((oc + 1) * 255)]
                    XCTAssertFalse(zip(t, t.dropFirst()).contains { $0 > $1 }, file: file, line: line)
                } else {
                    let m = l.multipliers(oc)
                    XCTAssertTrue((1...62).contains(m.nPos) && (1...62).contains(m.nNeg), file: file, line: line)
                    if m.nPos < 62 { XCTAssertTrue(m.mPos >= 1 << 30 && m.mPos < 1 << 31, "M_pos \(m.mPos)", file: file, line: line) }
                    if m.nNeg < 62 && m.mNeg > 0 { XCTAssertTrue(m.mNeg >= 1 << 30 && m.mNeg < 1 << 31, "M_neg \(m.mNeg)", file: file, line: line) }
                }
            }
            if !l.isLast && l.outputWidth == 2 { XCTAssertEqual(l.outputZeroPoint, 0, file: file, line: line) }
        }
        XCTAssertEqual(try Int8ImageBuilder.parse(Int8ImageBuilder.build(d), path: "export"), d, file: file, line: line)
    }

    func testExportInvariantsForEveryWidthMix() throws {
        let s = TrainState(config: .standard, hyper: Hyper())
        let (q, ranges) = exporter(s.params)
        for w in [[1, 1, 1, 1, 1], [2, 2, 2, 2, 2], [2, 1, 2, 1, 2]] {
            var e = q.export(ranges: ranges, widths: w)
            try checkInvariants(e)
            XCTAssertEqual(e.decoder.layers.dropLast().map(\.outputWidth), w)
            q.biasCorrect(&e, latents: TrainerDecoder.seededLatents(seed: 6, count: 32, latent: 64))
            try checkInvariants(e)
        }
    }

    func testInt16QmaxIsLoweredUntilTheBoundHolds() throws {
        // Layer 1 channel 0 with every weight equal: every w_q is 127 and sum |w_q| = 127 x 13 x 49
        // = 80,899, so A_in may be at most (2^31 - 1 - |bias|) / 80,899 < 26,546.
        var s = TrainState(config: .standard, hyper: Hyper())
        let l = ParamLayout(.standard), c = ModelConfig.standard.layers[1]
        for ic in 0..<c.inChannels { for t in 0..<49 { s.params[l.convW[1] + (ic * c.outChannels + 0) * 49 + t] = 0.05 } }
        let (q, ranges) = exporter(s.params)
        let e = q.export(ranges: ranges, widths: [2, 2, 2, 2, 2])
        try checkInvariants(e)
        let qmax = Int64(e.decoder.layers[0].outputQmax)
        XCTAssertLessThan(qmax, 26_546)
        // The largest that holds: one more breaks the bound.
        var bigger = e.decoder
        bigger.layers[0].outputQmax += 1; bigger.layers[0].outputQmin -= 1
        let worst = (0..<c.outChannels).map { bigger.accumulatorWorstCase(layer: 1, channel: $0) }.max()!
        XCTAssertGreaterThan(worst, Int64(Int32.max) - 80_899 * 2, "qmax \(qmax) is not the largest that holds")
    }

    func testInt8PathTracksTheFloatDecoder() {
        let s = TrainState(config: .standard, hyper: Hyper())
        let (q, ranges) = exporter(s.params)
        let lat = TrainerDecoder.seededLatents(seed: 7, count: 16, latent: 64)
        let f = Quantiser.fidelity(q.int8Pixels(q.export(ranges: ranges, widths: [2, 2, 2, 2, 2]).decoder, lat), q.floatPixels(lat))
        XCTAssertGreaterThan(f.psnr, 30)
    }

    // MARK: the shipped goldens

    /// The committed int8 goldens are what Int8Reference makes of the committed checkpoint's DEC8
    /// (make-goldens was run after the last quantise).
    func testShippedInt8GoldensAreTheReferencesImages() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let ckpt = root.appendingPathComponent("checkpoints/vae-mnist.vaeckpt").path
        let (config, image) = try CheckpointReader.readDecoderImage(ckpt, precision: .int8)
        let d = try Int8ImageBuilder.parse(image, path: ckpt)
        for seed: UInt64 in [0, 42, 2026] {
            let golden = try [UInt8](Data(contentsOf: root.appendingPathComponent("Tests/DecoderTests/Goldens/trainer-int8-seed\(seed).bin")))
            let mine = TrainerDecoder.seededLatents(seed: seed, count: 16, latent: config.latent).flatMap { Int8Reference.decode(d, latent: $0) }
            XCTAssertEqual(mine, golden, "seed \(seed): run vae-train make-goldens after vae-train quantise")
        }
    }
}
