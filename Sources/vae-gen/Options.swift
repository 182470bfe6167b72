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

enum GenPrecision: String, ExpressibleByArgument, CaseIterable {
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

    @Option(help: ArgumentHelp(
        "Arithmetic of the decoder: float32, or int8 (the checkpoint's quantised decoder, integer-only kernels).",
        discussion: "With --decoder-image the image says which it is; --precision then only checks it."))
    var precision: GenPrecision?

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
        let rt: LoadedDecoder
        do { rt = try LoadedDecoder(image: bytes, path: path) } catch {
            fail("\(decoderImage ?? checkpoint): \(error.message)")
        }
        if let p = precision, "\(rt.model.precision.name)" != p.rawValue {
            fail("\(decoderImage ?? checkpoint): the decoder image is \(rt.model.precision.name), not \(p.rawValue)")
        }
        return rt
    }

    /// The decoder image bytes, checked.
    /// The decoder image bytes (checked by the runtime when loaded).
    func loadImage() -> [UInt8] {
        if let path = decoderImage {
            guard let d = FileManager.default.contents(atPath: path) else {
                fail("\(path): cannot read the decoder image (no such file?)")
            }
            return [UInt8](d)
        }
        do {
            return try CheckpointReader.readDecoderImage(checkpoint, precision: precision == .int8 ? .int8 : .float32).image
        } catch let e as CheckpointError {
            if e.problem == "no such file" {
                fail("\(checkpoint): no such file; run from the repository root or pass --checkpoint")
            }
            fail("\(e)")
        } catch { fail("\(error)") }
    }

    /// The precision of what was loaded, for messages.
    func describe(_ rt: LoadedDecoder) -> String { "\(rt.model.precision.name)" }
}

extension DecoderError {
    var text: String { String(describing: message) }
}
