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

@main
struct VAEGen: ParsableCommand {
    /// Refuses repeated options and negative numbers with the real reason (ArgumentCheck)
    /// before the parser, which would take "-1" for an option.
    static func main() {
        ArgumentCheck.exitOnProblem(tool: "vae-gen", CommandLine.arguments)
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "vae-gen",
        abstract: "Turn seeded random vectors into digits with the decoder runtime.",
        discussion: """
        Image i of --seed S is decoded from a latent vector that is a pure
        function of (S, i) (docs/latent-generator.md), by the same runtime that
        runs on microcontrollers: every machine prints the same SHA-256 for the
        same seed, count and checkpoint.

        Examples:
          vae-gen --seed 42 -n 100            a 10x10 grid in vae-gen-out/grid.png
          vae-gen --seed 42 --precision int8  the same latents through the int8 decoder
          vae-gen --seed 7 -n 16 --each png   also one PNG per digit
          vae-gen --digit 7 --seed 42 -n 100  sevens (the class priors)
          vae-gen reconstruct --images t10k-images-idx3-ubyte.gz -n 10
                                              originals above reconstructions, BCE each
          vae-gen interpolate --from 42:0 --to 42:1 --steps 10
                                              linear and spherical strips
          vae-gen decode --latents z.npy      your own float32 [N, 64] latents
          vae-gen export-decoder --out d.vaed the decoder image for flash
          vae-gen export-web --out site       a web page that decodes in the browser
          vae-gen bench --compare             float32 against int8, µs per image

        The fastest kernels this CPU has are chosen at run time (AVX-512, AVX2,
        NEON, or portable code); every choice gives the same bits. Force one
        with --kernels or the environment variable VAE_KERNELS.

        The options of the default subcommand: vae-gen help generate
        """,
        subcommands: [Generate.self, Reconstruct.self, Interpolate.self, DecodeLatents.self, ExportDecoder.self, ExportWeb.self, Latent.self, Bench.self],
        defaultSubcommand: Generate.self)
}

func fail(_ message: String) -> Never {
    printError("vae-gen: error: \(message)")
    exit(1)
}
