import XCTest
@testable import Checkpoint
import VAEDecoder

/// Section PRIO: the payload round-trips, every bad length or value is refused naming the
/// field, and the class-conditional generator is the documented formula bit for bit.
final class ClassPriorsTests: XCTestCase {
    func priors(_ kind: ClassPriors.Kind, d: Int = 3) -> ClassPriors {
        let s = ClassPriors.scaleCount(kind, latent: d)
        return ClassPriors(kind: kind, latent: d, counts: [5, 7],
                           means: [(0..<d).map { Float($0) }, (0..<d).map { -Float($0) }],
                           scales: [(0..<s).map { 0.5 + Float($0) }, (0..<s).map { 1 + Float($0) * 0.25 }])
    }

    func refused(_ b: [UInt8], d: Int = 3, _ part: String, line: UInt = #line) {
        do { _ = try ClassPriors.parse(b, latent: d, path: "p.vaeckpt"); XCTFail("accepted", line: line) } catch let e as CheckpointError {
            XCTAssertTrue(e.problem.contains(part), "\(e.problem) lacks \(part)", line: line)
            XCTAssertTrue(e.problem.hasPrefix("section \"PRIO\": "), line: line)
        } catch { XCTFail("\(error)", line: line) }
    }

    func testRoundTripBothKinds() throws {
        for k in [ClassPriors.Kind.diagonal, .full] {
            let p = priors(k)
            XCTAssertEqual(try ClassPriors.parse(p.encode(), latent: 3, path: "p"), p)
        }
        XCTAssertEqual(priors(.full).encode().count, 32 + 2 * (4 + 12 + 24))
    }

    func testRefusals() {
        let good = priors(.full).encode()
        refused(Array(good.dropLast()), "payload is 111 bytes")
        refused(good + [0], "need 112")
        refused(good, d: 4, "latent dimension 3 is not the architecture's 4")
        var v = good; v[4] = 2; refused(v, "version 2")
        var k = good; k[16] = 3; refused(k, "covariance kind 3")
        var c = good; c[8] = 0; refused(c, "class count is 0")
        var bl = good; bl[0] = 16; refused(bl, "less than 32")
        var nan = good; nan.replaceSubrange(36..<40, with: [0, 0, 0xC0, 0x7F]); refused(nan, "NaN or infinite")
        // The first class's L[0][0] (right after its 3 means) set to 0.
        var z = good; z.replaceSubrange(48..<52, with: [0, 0, 0, 0]); refused(z, "scale diagonal 0")
    }

    func testWriterAndReaderCarryTheSection() throws {
        let cfg = ModelConfig.standard
        let p = ClassPriors(kind: .diagonal, latent: cfg.latent, counts: [1], means: [[Float](repeating: 0.5, count: cfg.latent)],
                            scales: [[Float](repeating: 2, count: cfg.latent)])
        let params = (0..<ParamLayout(cfg).total).map { Float($0 % 7) * 0.01 }
        let bytes = CheckpointWriter.encode(CheckpointContents(config: cfg, params: params, training: nil, history: [], classPriors: p))
        let path = NSTemporaryDirectory() + "/prio-\(getpid()).vaeckpt"
        try AtomicFile.write(bytes, to: path)
        defer { unlink(path) }
        XCTAssertEqual(try CheckpointReader.read(path).classPriors, p)
        XCTAssertEqual(try CheckpointReader.readClassPriors(path), p)
        let without = CheckpointWriter.encode(CheckpointContents(config: cfg, params: params, training: nil, history: []))
        try AtomicFile.write(without, to: path)
        XCTAssertThrowsError(try CheckpointReader.readClassPriors(path)) { XCTAssertTrue("\($0)".contains("vae-train fit-priors")) }
    }

    /// docs/latent-generator.md section 6, written out again: z_j = m_j + sum_k L[j][k] e_k,
    /// ascending k, every product and sum rounded on its own.
    func testGeneratorIsTheDocumentedFormula() {
        let d = 64
        var lower = [Float](), sd = [Float]()
        for j in 0..<d { sd.append(0.1 + Float(j) / 64); for k in 0...j { lower.append(k == j ? 0.7 : Float((j * 31 + k * 17) % 13) / 50 - 0.12) } }
        let mean = (0..<d).map { Float($0) / 10 - 3 }
        for (seed, i) in [(UInt64(42), UInt64(0)), (7, 123_456), (0, 9)] {
            let e = (0..<d).map { LatentGenerator.component(seed: seed, image: i, index: $0, latent: d) }
            var full = [Float](repeating: 0, count: d), diag = full
            ClassLatent.fill(seed: seed, image: i, latent: d, mean: mean, scale: lower, full: true, into: &full)
            ClassLatent.fill(seed: seed, image: i, latent: d, mean: mean, scale: sd, full: false, into: &diag)
            for j in 0..<d {
                var acc = mean[j]
                for k in 0...j { let p = lower[j * (j + 1) / 2 + k] * e[k]; acc = acc + p }
                XCTAssertEqual(full[j].bitPattern, acc.bitPattern, "full, seed \(seed) image \(i) j \(j)")
                let p = sd[j] * e[j]
                XCTAssertEqual(diag[j].bitPattern, (mean[j] + p).bitPattern, "diagonal j \(j)")
            }
        }
        // Pinned: seed 42, image 0, mean 0 and unit scale give the generator's own latent.
        var z = [Float](repeating: 0, count: d)
        ClassLatent.fill(seed: 42, image: 0, latent: d, mean: [Float](repeating: 0, count: d), scale: [Float](repeating: 1, count: d), full: false, into: &z)
        XCTAssertEqual(z[0].bitPattern, 0x3F25EEF5); XCTAssertEqual(z[1].bitPattern, 0xBF7EACED)
    }
}
