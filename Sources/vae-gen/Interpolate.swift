import ArgumentParser
import ImageIO
import ToolSupport
import VAEDecoder
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One end of an interpolation: a seeded latent "SEED:INDEX", or an image "FILE" / "FILE:K"
/// (image K of an IDX file; a PNG or PGM holds one), encoded on the host.
enum Endpoint: ExpressibleByArgument {
    case seeded(seed: UInt64, index: UInt64)
    case image(path: String, index: Int)

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, let s = UInt64(parts[0]), let i = UInt64(parts[1]) { self = .seeded(seed: s, index: i); return }
        if parts.count >= 2, let k = Int(parts.last!), k >= 0 {
            self = .image(path: parts.dropLast().joined(separator: ":"), index: k); return
        }
        guard !argument.isEmpty else { return nil }
        self = .image(path: argument, index: 0)
    }
}

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Digits between two latents: linear (top row), spherical (bottom).",
        discussion: """
        An end is SEED:INDEX (the latent vae-gen --seed SEED decodes as image
        INDEX) or an image: FILE (a 28x28 PNG or PGM) or FILE:K (image K of an IDX
        file), encoded to its mean latent by the host encoder of --checkpoint.
        Step t of S goes from 0 to 1 in S - 1 equal steps; linear is (1 - t) a + t
        b, spherical (slerp) keeps to the arc between a and b, which is where a
        Gaussian latent's mass lies (linear midpoints are shorter than either
        end).

        Examples:
          vae-gen interpolate --from 42:0 --to 42:1 --steps 10
          vae-gen interpolate --from t10k-images-idx3-ubyte.gz:0 \\
                              --to t10k-images-idx3-ubyte.gz:1
          vae-gen interpolate --from three.png --to 7:5 --out-png mix.png
        """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Start: SEED:INDEX, FILE or FILE:K.")
    var from: Endpoint

    @Option(help: "End: SEED:INDEX, FILE or FILE:K.")
    var to: Endpoint

    @Option(help: "Images per strip, both ends included (2 ... 50).")
    var steps = 10

    @Option(help: "The picture to write.")
    var outPng = "vae-gen-out/interpolate.png"

    @Option(help: "Upscaling factor (1 ... 8).")
    var scale = 2

    func validate() throws {
        guard (2...50).contains(steps) else { throw ValidationError("--steps must be between 2 and 50 (got \(steps))") }
        guard (1...8).contains(scale) else { throw ValidationError("--scale must be between 1 and 8 (got \(scale))") }
    }

    func latent(_ e: Endpoint, _ rt: LoadedDecoder) -> [Float] {
        switch e {
        case .seeded(let s, let i):
            return (0..<rt.model.latent).map { LatentGenerator.component(seed: s, image: i, index: $0, latent: rt.model.latent) }
        case .image(let path, let k):
            let img = HostImages.load(path, first: k, n: 1, side: rt.model.outputSide)
            return HostImages.encoder(model).encode(img[0]).mu
        }
    }

    func run() throws {
        let rt = model.load()
        let a = latent(from, rt), b = latent(to, rt)
        let ts = (0..<steps).map { Float($0) / Float(steps - 1) }
        let linear = ts.map { Interpolation.linear(a, b, $0) }
        let spherical = ts.map { Interpolation.spherical(a, b, $0) }
        let rows = [HostImages.decode(rt, linear).bytes, HostImages.decode(rt, spherical).bytes]
        let side = rt.model.outputSide
        HostImages.write(PNG.encode(Grid.rows(rows, tileWidth: side, tileHeight: side, gap: 2, scale: scale)), to: outPng)
        let angle = Interpolation.angle(a, b) * 180 / Float.pi
        print("vae-gen: \(steps) steps, linear (top) and spherical (bottom), \(cformat("%.1f", angle)) degrees apart, |a| \(cformat("%.2f", Interpolation.norm(a))), |b| \(cformat("%.2f", Interpolation.norm(b))) -> \(outPng)")
    }
}

/// Linear and spherical interpolation of latents (float32 throughout; the pictures, not the
/// last bit, are the point here).
enum Interpolation {
    static func norm(_ a: [Float]) -> Float { a.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    static func angle(_ a: [Float], _ b: [Float]) -> Float {
        let na = norm(a), nb = norm(b)
        guard na > 0, nb > 0 else { return 0 }
        let c = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (na * nb)
        return acosf(min(1, max(-1, c)))
    }

    static func linear(_ a: [Float], _ b: [Float], _ t: Float) -> [Float] { zip(a, b).map { (1 - t) * $0 + t * $1 } }

    /// slerp: sin((1-t)w)/sin(w) a + sin(tw)/sin(w) b; nearly parallel ends fall back to linear
    /// (the weights' 0/0 would be noise).
    static func spherical(_ a: [Float], _ b: [Float], _ t: Float) -> [Float] {
        let w = angle(a, b)
        guard sinf(w) > 1e-4 else { return linear(a, b, t) }
        let ka = sinf((1 - t) * w) / sinf(w), kb = sinf(t * w) / sinf(w)
        return zip(a, b).map { ka * $0 + kb * $1 }
    }
}
