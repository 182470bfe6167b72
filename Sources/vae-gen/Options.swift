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
    static let defaultCheckpoint = "checkpoints/vae-mnist.vaeckpt"

    @Option(name: .customLong("checkpoint"), help: "Checkpoint to take the decoder from. (default: \(ModelOptions.defaultCheckpoint))")
    var checkpointOption: String?

    /// --checkpoint, or the shipped checkpoint when it is not given.
    var checkpoint: String { checkpointOption ?? Self.defaultCheckpoint }

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
        // Both given: one would be silently ignored, so say which to keep.
        if checkpointOption != nil, decoderImage != nil {
            throw ValidationError("--checkpoint and --decoder-image both name the decoder; give one of them")
        }
        if case .path(let p) = kernels, !p.isAvailable {
            throw ValidationError("--kernels \(p.name): this build or CPU cannot run it; available: \(KernelPath.available.map { "\($0.name)" }.joined(separator: ", "))")
        }
    }

    var path: KernelPath {
        if case .path(let p) = kernels { return p }
        return .automatic
    }

    /// The checked image, loaded into the runtime with its arena; exits with the reason if not.
    /// `classPriors`: the decoder must be able to draw a class: a checkpoint's `PRIO` section
    /// goes into the image as the export carries it, so both sources run the runtime's code.
    func load(classPriors: Bool = false) -> LoadedDecoder {
        var bytes = loadImage()
        if classPriors, decoderImage == nil {
            do { bytes = ImagePriors.attach(try CheckpointReader.readClassPriors(checkpoint), to: bytes) } catch { fail("\(error)") }
        }
        let rt: LoadedDecoder
        do { rt = try LoadedDecoder(image: bytes, path: path) } catch {
            fail("\(Path.shown(decoderImage ?? checkpoint)): \(error.message)")
        }
        // vae-gen writes grayscale pictures: an image the runtime accepts with 2 or 3 output
        // channels (the C interface decodes it) is refused here with the reason, not trapped on.
        guard rt.model.outputChannels == 1 else {
            fail("\(Path.shown(decoderImage ?? checkpoint)): the decoder has \(rt.model.outputChannels) output channels; vae-gen writes grayscale digits (1 channel); decode it through the C interface (include/vae_decoder.h)")
        }
        if let p = precision, "\(rt.model.precision.name)" != p.rawValue {
            fail("\(Path.shown(decoderImage ?? checkpoint)): the decoder image is \(rt.model.precision.name), not \(p.rawValue)")
        }
        if classPriors, rt.model.classCount == 0 {
            fail("\(Path.shown(decoderImage ?? checkpoint)): the decoder image has no class priors; export one with `vae-gen export-decoder --priors fitted`, or pass --checkpoint")
        }
        return rt
    }

    /// The largest decoder image file read (every layer at the runtime's capacity is 32 MiB).
    static let imageFileMax = 64 << 20

    /// The decoder image bytes (checked by the runtime when loaded). A raw image must be a
    /// regular file; its magic is checked on the first 16 bytes and only as many bytes as its
    /// header's total length are read.
    func loadImage() -> [UInt8] {
        if let path = decoderImage {
            do {
                let f = try RegularFile(path, maxBytes: ModelOptions.imageFileMax, what: "decoder image")
                let pre = try f.read(at: 0, count: min(16, f.size))
                guard pre.count >= 4, pre[0..<4].elementsEqual("VAED".utf8) else {
                    fail("\(Path.shown(path)): \(DecoderError.badMagic.text)")
                }
                guard pre.count == 16 else { fail("\(Path.shown(path)): \(DecoderError.truncated.text)") }
                let total = Int(pre[8]) | Int(pre[9]) << 8 | Int(pre[10]) << 16 | Int(pre[11]) << 24
                return try f.read(at: 0, count: min(max(total, 16), f.size))
            } catch { fail("\(error)") }
        }
        do {
            return try CheckpointReader.readDecoderImage(checkpoint, precision: precision == .int8 ? .int8 : .float32).image
        } catch let e as CheckpointError {
            if e.problem == "no such file" {
                fail("\(Path.shown(checkpoint)): no such file; run from the repository root or pass --checkpoint")
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
