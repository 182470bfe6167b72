import ArgumentParser
import Checkpoint
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
import ImageIO
import VAEDecoder

enum Precision: String, ExpressibleByArgument, CaseIterable {
    case float32, int8
}

enum KernelChoice: ExpressibleByArgument {
    case auto
    case path(KernelPath)

    init?(argument: String) {
        if argument == "auto" { self = .auto; return }
        guard let p = KernelPath.allCases.first(where: { "\($0.name)" == argument }) else { return nil }
        self = .path(p)
    }

    static var allValueStrings: [String] { ["auto"] + KernelPath.allCases.map { "\($0.name)" } }
}

enum EachFormat: String, ExpressibleByArgument, CaseIterable {
    case none, png, pgm
}

struct ModelOptions: ParsableArguments {
    @Option(help: "Checkpoint to take the decoder from.")
    var checkpoint = "checkpoints/vae-mnist.vaeckpt"

    @Option(help: "A raw decoder image (from export-decoder) instead of a checkpoint.")
    var decoderImage: String?

    @Option(help: "Arithmetic of the decoder: float32 (int8 comes with the quantised decoder).")
    var precision: Precision = .float32

    @Option(help: ArgumentHelp(
        "Kernel: auto, \(KernelPath.available.map { "\($0.name)" }.joined(separator: ", ")).",
        discussion: "auto takes the fastest this CPU has (lowered by the environment variable VAE_KERNELS). Every kernel gives the same bits; they differ in speed."))
    var kernels: KernelChoice = .auto

    func validate() throws {
        if case .path(let p) = kernels, !p.isAvailable {
            throw ValidationError("--kernels \(p.name): this build or CPU cannot run it; available: \(KernelPath.available.map { "\($0.name)" }.joined(separator: ", "))")
        }
    }

    var path: KernelPath {
        if case .path(let p) = kernels { return p }
        return .automatic
    }

    /// The checked image, loaded into the runtime with its arena; exits with the reason if not.
    func load() -> LoadedDecoder {
        let bytes = loadImage()
        do { return try LoadedDecoder(image: bytes, path: path) } catch {
            fail("\(decoderImage ?? checkpoint): \(error.message)")
        }
    }

    /// The decoder image bytes, checked.
    func loadImage() -> [UInt8] {
        if precision == .int8 {
            fail("--precision int8 is not available yet (the quantised decoder is a later issue); use float32")
        }
        if let path = decoderImage {
            guard let d = FileManager.default.contents(atPath: path) else {
                fail("\(path): cannot read the decoder image (no such file?)")
            }
            return [UInt8](d)
        }
        do { return try CheckpointReader.readDecoderImage(checkpoint).image } catch let e as CheckpointError {
            if e.problem == "no such file" {
                fail("\(checkpoint): no such file; run from the repository root or pass --checkpoint")
            }
            fail("\(e)")
        } catch { fail("\(error)") }
    }
}

extension DecoderError {
    var text: String { String(describing: message) }
}
