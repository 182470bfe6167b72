// The runtime's int8 decoder against the trainer's own integer implementation (Int8Reference,
// separate code, which wrote the goldens from the shipped checkpoint's DEC8 section): byte for
// byte, on every kernel path this machine runs. And the int8 path allocates nothing.
import CMallocCounter
import Checkpoint
import Foundation
import VAEDecoder
import XCTest

final class Int8GoldenTests: XCTestCase {
    func int8Harness(_ path: KernelPath = .automatic) throws -> Harness {
        try Harness(image: CheckpointReader.readDecoderImage(Repo.checkpoint, precision: .int8).image, path: path)
    }

    func testEveryPathGivesTheTrainersInt8GoldensByteForByte() throws {
        let digests = try String(contentsOfFile: Repo.golden("digests-int8.txt"), encoding: .utf8)
        for path in KernelPath.available {
            let h = try int8Harness(path)
            XCTAssertEqual(h.model.precision, .int8)
            for seed: UInt64 in [0, 42, 2026] {
                let golden = try Data(contentsOf: URL(fileURLWithPath: Repo.golden("trainer-int8-seed\(seed).bin"))).map { $0 }
                XCTAssertEqual(golden.count, 16 * 784)
                let got = h.generate(seed: seed, count: 16)
                XCTAssertEqual(got.count, golden.count, "\(path.name), seed \(seed): byte counts")
                let differ = zip(got, golden).filter { $0 != $1 }.count
                XCTAssertEqual(differ, 0, "\(path.name), seed \(seed): pixels that differ from Int8Reference's")
                XCTAssertTrue(digests.contains("seed \(seed) image 0 sha256 \(sha256Hex(Array(golden[0..<784])))"))
            }
        }
    }

    /// The image with the checkpoint's class priors attached: vae_generate_class's path gives the
    /// trainer's class goldens (ClassLatent over the PRIO arrays, Int8Reference), on every path.
    func testClassDigitsAreTheTrainersClassGoldens() throws {
        let priors = try CheckpointReader.readClassPriors(Repo.checkpoint)
        let image = ImagePriors.attach(priors, to: try CheckpointReader.readDecoderImage(Repo.checkpoint, precision: .int8).image)
        let digests = try String(contentsOfFile: Repo.golden("digests-int8.txt"), encoding: .utf8)
        for path in KernelPath.available {
            let rt = try LoadedDecoder(image: image, path: path)
            XCTAssertEqual(rt.model.classCount, 10)
            for seed: UInt64 in [0, 42, 2026] {
                let golden = try Data(contentsOf: URL(fileURLWithPath: Repo.golden("trainer-int8-classes-seed\(seed).bin"))).map { $0 }
                XCTAssertEqual(golden.count, 10 * 784)
                var px = [UInt8](repeating: 0, count: 784)
                for c in 0..<10 {
                    try rt.decoder.generate(seed: seed, index: 0, classIndex: c, latentScratch: rt.latent, pixels: &px)
                    XCTAssertEqual(px, Array(golden[(c * 784)..<((c + 1) * 784)]), "\(path.name), seed \(seed), class \(c)")
                    XCTAssertTrue(digests.contains("seed \(seed) class \(c) image 0 sha256 \(sha256Hex(px))"))
                }
            }
        }
    }

    func testTheGoldensAreNotTheFloatImages() throws {
        // int8 is close to float32 but not equal: a test that compared float with float would pass too.
        let a = try Data(contentsOf: URL(fileURLWithPath: Repo.golden("trainer-int8-seed42.bin"))).map { $0 }
        let b = try Data(contentsOf: URL(fileURLWithPath: Repo.golden("runtime-u8-seed42.bin"))).map { $0 }
        XCTAssertEqual(a.count, 16 * 784)
        XCTAssertEqual(b.count, 16 * 784)
        let differ = zip(a, b).filter { $0 != $1 }.count
        XCTAssertGreaterThan(differ, 0)
        XCTAssertLessThan(differ, a.count / 2)
    }

    func testThousandInt8DecodesAllocateNothing() throws {
        let h = try int8Harness()
        let lat = UnsafeMutablePointer<Float>.allocate(capacity: h.model.latent)
        let px = UnsafeMutablePointer<UInt8>.allocate(capacity: h.model.pixelCount)
        defer { lat.deallocate(); px.deallocate() }
        let decoder = h.decoder
        vae_malloc_counter_start()
        for i in 0..<1000 { decoder.generate(seed: 42, index: UInt64(i), latentScratch: lat, pixels: px) }
        XCTAssertEqual(vae_malloc_counter_stop(), 0, "heap allocations during 1,000 int8 decodes")
    }
}
