import ArgumentParser
import HostEncoder
import ImageIO
import ToolSupport
import VAEDecoder

struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode images and decode them: originals above reconstructions.",
        discussion: """
        The encoder (from --checkpoint) runs here on the host, in plain Swift; the
        decoder is the runtime, float32 or int8. Each image is decoded from its
        mean latent (no sampling), and its binary cross-entropy against the
        original (summed over the 784 pixels, the reconstruction term of the
        training loss) is printed.

        Examples:
          vae-gen reconstruct --images t10k-images-idx3-ubyte.gz -n 10
          vae-gen reconstruct --images t10k-images-idx3-ubyte --first 100 -n 20
          vae-gen reconstruct --images my-digit.png    a 28x28 PNG, white on black
          vae-gen reconstruct --images digit.pgm --precision int8
        """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Images: an IDX3 file (gzip or plain), a 28x28 PNG or a 28x28 PGM.")
    var images: String

    @Option(help: "Index of the first image of the file.")
    var first = 0

    @Option(name: .shortAndLong, help: "How many images (1 ... 100).")
    var n = 10

    @Option(help: "The picture to write.")
    var outPng = "vae-gen-out/reconstruct.png"

    @Option(help: "Upscaling factor (1 ... 8).")
    var scale = 2

    func validate() throws {
        guard (1...100).contains(n) else { throw ValidationError("-n must be between 1 and 100 (got \(n))") }
        guard first >= 0 else { throw ValidationError("--first must be 0 or more (got \(first))") }
        guard (1...8).contains(scale) else { throw ValidationError("--scale must be between 1 and 8 (got \(scale))") }
    }

    func run() throws {
        let rt = model.load()
        let side = rt.model.outputSide
        let originals = HostImages.load(images, first: first, n: n, side: side)
        let enc = HostImages.encoder(model)
        let latents = originals.map { enc.encode($0).mu }
        let out = HostImages.decode(rt, latents)
        var total = 0.0
        for (i, o) in originals.enumerated() {
            let bce = HostEncoder.bce(target: o, predicted: out.floats[i])
            total += bce
            print(cformat("image %d: BCE %.2f", first + i, bce))
        }
        let grid = Grid.rows([originals, out.bytes], tileWidth: side, tileHeight: side, gap: 2, scale: scale)
        HostImages.write(PNG.encode(grid), to: outPng)
        print("vae-gen: \(originals.count) images of \(images) (from \(first)), \(rt.model.precision.name) decoder; mean BCE \(cformat("%.2f", total / Double(originals.count))) -> \(outPng)")
    }
}
