// vae-gen, the binary a user runs, against the committed goldens (Tests/DecoderTests/Goldens,
// made by `vae-train make-goldens`): the digest it prints for 16 digits of each golden seed must
// be the "all16" line of digests.txt (float32) and digests-int8.txt (int8), for both shipped
// models. Here beside the C interface's tests because the process helpers (VaeGen, Shell) are.
import Foundation
import XCTest

final class VaeGenGoldenTests: XCTestCase {
    /// The all16 digests of a digests file: seed -> hex.
    func all16(_ relative: String) throws -> [UInt64: String] {
        let text = try String(contentsOfFile: Repo.path("Tests/DecoderTests/Goldens/" + relative), encoding: .utf8)
        var r: [UInt64: String] = [:]
        for line in text.split(separator: "\n") {
            let w = line.split(separator: " ")
            if w.count == 5, w[0] == "seed", w[2] == "all16", w[3] == "sha256", let s = UInt64(w[1]) { r[s] = String(w[4]) }
        }
        return r
    }

    func check(_ digests: String, _ extra: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let want = try all16(digests)
        XCTAssertEqual(Set(want.keys), [0, 42, 2026], "\(digests): the golden seeds", file: file, line: line)
        for (seed, hex) in want.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(try VaeGen.sha256(seed: seed, n: 16, extra), hex, "vae-gen \(extra.joined(separator: " ")) --seed \(seed) -n 16", file: file, line: line)
        }
    }

    func testFloat32DigitsAreTheGoldens() throws {
        try check("digests.txt", ["--checkpoint", Repo.checkpoint])
    }

    func testInt8DigitsAreTheGoldens() throws {
        try check("digests-int8.txt", ["--checkpoint", Repo.checkpoint, "--precision", "int8"])
    }

    func testFashionMNISTDigitsAreItsGoldens() throws {
        let fashion = Repo.path("checkpoints/vae-fashion-mnist.vaeckpt")
        try check("fashion-mnist/digests.txt", ["--checkpoint", fashion])
        try check("fashion-mnist/digests-int8.txt", ["--checkpoint", fashion, "--precision", "int8"])
    }
}
