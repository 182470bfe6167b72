import ArgumentParser
import Checkpoint
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ToolSupport
import VAEDecoder

/// `vae-gen export-web --out DIR`: a static site that decodes a checkpoint's digits in the
/// browser: the page (web/), the runtime as WebAssembly (wasm/build.sh), the checkpoint's
/// decoder images and, when they belong to it, the latent directions (pca.json). Any static
/// file server (or a folder on a web host) serves it as it is.
struct ExportWeb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-web",
        abstract: "A static web page that decodes in the browser (WebAssembly).",
        discussion: """
        DIR gets index.html, app.js, vae.js (copied from --web), vae.wasm (the
        runtime built by wasm/build.sh), decoder.vaed (float32),
        decoder-int8.vaed (when the checkpoint has an int8 decoder) and
        pca.json (the sliders' directions: --pca, or the page folder's own
        when it was computed for this checkpoint's decoder; without one the
        sliders move plain latent dimensions). Make pca.json with vae-train
        pca.
        """)

    @Option(help: "Checkpoint to take the decoders from.")
    var checkpoint = "checkpoints/vae-mnist.vaeckpt"

    @Option(help: "Output folder (created if missing; its files of these names are replaced).")
    var out: String

    @Option(help: "The page's folder (index.html, app.js, vae.js).")
    var web = "web"

    @Option(help: "The runtime's WebAssembly module (wasm/build.sh writes it).")
    var module = "wasm/build/vae.wasm"

    @Option(help: "Latent directions from vae-train pca for this checkpoint (default: the page folder's pca.json, if it is this checkpoint's).")
    var pca: String?

    func read(_ path: String, _ what: String) -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else { fail("\(path): cannot read \(what) (no such file?)") }
        return [UInt8](d)
    }


    func run() throws {
        let f32: [UInt8]
        var i8: [UInt8]? = nil
        do {
            f32 = try CheckpointReader.readDecoderImage(checkpoint, precision: .float32).image
            i8 = try? CheckpointReader.readDecoderImage(checkpoint, precision: .int8).image
        } catch { fail("\(error)") }
        for img in [f32] + (i8.map { [$0] } ?? []) {
            do { _ = try LoadedDecoder(image: img) } catch { fail("\(checkpoint): \(error.message)") }
        }
        let wasm = read(module, "the WebAssembly module; build it with wasm/build.sh")
        guard wasm.starts(with: [0x00, 0x61, 0x73, 0x6D]) else { fail("\(module): not a WebAssembly module") }
        let page = ["index.html", "app.js", "vae.js"].map { ($0, read(Path.join(web, $0), "the page")) }

        // pca.json names the float32 decoder image it was computed with (its SHA-256); a page
        // folder's own is used only for that decoder.
        let decoderSHA = SHA256.hex(of: f32)
        var directions: [UInt8]? = nil, note = "none: the sliders move latent dimensions"
        if let pca {
            directions = read(pca, "the latent directions")
            note = pca
        } else if let d = FileManager.default.contents(atPath: Path.join(web, "pca.json")) {
            if String(decoding: d, as: UTF8.self).contains("\"decoder_sha256\": \"\(decoderSHA)\"") {
                directions = [UInt8](d)
                note = Path.join(web, "pca.json")
            } else {
                note = "none (\(Path.join(web, "pca.json")) is another checkpoint's; make this one's with vae-train pca)"
            }
        }

        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            fail("\(out): cannot create the folder: \(error)")
        }
        var files = page
        files.append(("vae.wasm", wasm))
        files.append(("decoder.vaed", f32))
        if let i8 { files.append(("decoder-int8.vaed", i8)) }
        if let directions { files.append(("pca.json", directions)) }
        var site = FileSet("files of the page", total: files.count)
        for (name, bytes) in files { site.write(bytes, to: Path.join(out, name)) }
        if directions == nil { try? FileManager.default.removeItem(atPath: Path.join(out, "pca.json")) }
        let total = page.reduce(0) { $0 + $1.1.count } + wasm.count + f32.count + (directions?.count ?? 0)
        print("vae-gen: wrote \(out): page \(page.reduce(0) { $0 + $1.1.count }) B, vae.wasm \(wasm.count) B, decoder.vaed \(f32.count) B"
              + (i8.map { ", decoder-int8.vaed \($0.count) B" } ?? ", no int8 decoder in the checkpoint")
              + "; pca.json: \(note)")
        print("vae-gen: the page loads \(total) B at first\(i8.map { " (\(total + $0.count) B with the int8 decoder)" } ?? ""); serve the folder, e.g. python3 -m http.server -d \(out)")
    }
}
