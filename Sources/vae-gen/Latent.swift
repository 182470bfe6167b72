import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ToolSupport
import VAEDecoder

struct Latent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the latent of image --index of --seed (values and bits).",
        discussion: "The values are a pure function of (seed, index, dimension): docs/latent-generator.md.")

    @Option(help: "Seed.") var seed: UInt64 = 42
    @Option(help: "Image index.") var index: UInt64 = 0
    @Option(help: "Latent dimension.") var dim = 64

    func validate() throws {
        guard (1...4096).contains(dim) else { throw ValidationError("--dim must be between 1 and 4096 (got \(dim))") }
    }

    func run() {
        for j in 0..<dim {
            let z = LatentGenerator.component(seed: seed, image: index, index: j, latent: dim)
            print(cformat("%3d  %+.8f  0x%08X", j, z, z.bitPattern))
        }
    }
}
