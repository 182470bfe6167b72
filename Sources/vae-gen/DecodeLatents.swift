import ArgumentParser
import ImageIO
import ToolSupport
import VAEDecoder
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct DecodeLatents: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode your own latents: a float32 [N, 64] .npy in, a grid out.",
        discussion: """
        The .npy header is read strictly (descr '<f4', fortran_order False,
        shape (N, 64), the data exactly N x 64 x 4 bytes, every value finite);
        anything else is refused naming the file and the field. With --out-npy
        the 8-bit pixels are written as uint8 [N, 28, 28], the same bytes
        whose SHA-256 is printed.

        Examples:
          python3 -c "import numpy as np; np.save('z.npy',
                      np.random.randn(16, 64).astype('<f4'))"
          vae-gen decode --latents z.npy
          vae-gen decode --latents z.npy --out-npy pixels.npy --precision int8
        """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Latents: a .npy file of float32, shape [N, 64] (N up to 100000).")
    var latents: String

    @Option(help: "The grid picture to write.")
    var outPng = "vae-gen-out/decoded.png"

    @Option(help: "Also write the 8-bit pixels here, as a uint8 [N, 28, 28] .npy.")
    var outNpy: String?

    @Option(help: "Grid upscaling factor (1 ... 8).")
    var scale = 2

    func validate() throws {
        guard (1...8).contains(scale) else { throw ValidationError("--scale must be between 1 and 8 (got \(scale))") }
    }

    func run() throws {
        let rt = model.load()
        let m = rt.model
        let arr: NPY.Array2
        do { arr = try NPY.readFloat32(try InputFiles.readPlain(latents), columns: m.latent, path: latents) } catch { fail("\(error)") }
        guard arr.rows <= 100_000 else { fail("\(latents): \(arr.rows) latents; at most 100000") }
        let zs = (0..<arr.rows).map { Array(arr.values[($0 * m.latent)..<(($0 + 1) * m.latent)]) }
        let tiles = HostImages.decode(rt, zs).bytes
        let all = tiles.flatMap { $0 }
        let side = m.outputSide
        HostImages.write(PNG.encode(Grid.compose(tiles, tileWidth: side, tileHeight: side, gap: 2, scale: scale)), to: outPng)
        if let outNpy { HostImages.write(NPY.encode(bytes: all, shape: [arr.rows, side, side]), to: outNpy) }
        print("vae-gen: \(arr.rows) latents of \(latents), \(m.precision.name) decoder -> \(outPng)\(outNpy.map { " and \($0)" } ?? "")")
        print("sha256 \(SHA256.hex(of: all))")
    }
}
