import ArgumentParser
import Checkpoint
import Foundation
import VAEDecoder
import VAETrainer

/// `vae-train pca`: the principal directions of the training images' latents (the encoder's
/// means), for the web page's sliders (web/, vae-gen export-web).
struct PCA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca",
        abstract: "Principal components of the training latents (the web sliders).",
        discussion: """
        Runs the checkpoint's encoder over the training images (--data; the means, no
        sampling), and writes their mean, the leading eigenvectors of their covariance
        (unit vectors, largest variance first; each signed so that its largest entry is
        positive) and the standard deviation along each, with the SHA-256 of the
        checkpoint's float32 decoder image, which vae-gen export-web checks before it
        puts the file beside that decoder.

        Example:
          vae-train pca --checkpoint checkpoints/vae-mnist.vaeckpt --data data/mnist --out web/pca.json
        """)

    @Option(help: "Checkpoint whose encoder maps the images to latents.")
    var checkpoint: String

    @Option(help: "Folder with the MNIST IDX files (the training images are used).")
    var data = MNIST.defaultFolder

    @Option(help: "Output file (JSON).")
    var out: String

    @Option(help: "How many principal components to write.")
    var components = 8

    @Option(help: "Use only the first N training images.")
    var images: Int?

    func run() throws {
        let ck: CheckpointContents
        let sets: (train: ImageSet, test: ImageSet)
        let decoderImage: [UInt8]
        do {
            ck = try CheckpointReader.read(checkpoint)
            decoderImage = try CheckpointReader.readDecoderImage(checkpoint, precision: .float32).image
            sets = try MNIST.loadFolder(data)
        } catch { fail("\(error)") }
        let L = ck.config.latent
        guard components >= 1 && components <= L else { fail("--components must be 1 ... \(L)") }
        let train = images.map { sets.train.prefix(min($0, sets.train.count)) } ?? sets.train
        let t0 = Date()
        let mus = Quantiser(config: ck.inferenceModel.config, params: ck.inferenceModel.params).encoderMeans(train)
        let n = Double(mus.count)

        var mean = [Double](repeating: 0, count: L)
        for m in mus { for j in 0..<L { mean[j] += Double(m[j]) } }
        for j in 0..<L { mean[j] /= n }
        var cov = [Double](repeating: 0, count: L * L)
        var d = [Double](repeating: 0, count: L)
        for m in mus {
            for j in 0..<L { d[j] = Double(m[j]) - mean[j] }
            for a in 0..<L { let da = d[a]; for b in a..<L { cov[a * L + b] += da * d[b] } }
        }
        for a in 0..<L { for b in a..<L { cov[a * L + b] /= n - 1; cov[b * L + a] = cov[a * L + b] } }
        let total = (0..<L).reduce(0.0) { $0 + cov[$1 * L + $1] }
        let (values, vectors) = PCA.symmetricEigen(cov, L)

        func num(_ v: Double) -> String { String(format: "%.7g", v) }
        var s = "{\n"
        s += "  \"what\": \"principal components of the encoder's means of \(mus.count) training images (vae-train pca)\",\n"
        s += "  \"checkpoint\": \"\((checkpoint as NSString).lastPathComponent)\",\n"
        s += "  \"decoder_sha256\": \"\(SHA256.hex(of: decoderImage))\",\n"
        s += "  \"images\": \(mus.count),\n"
        s += "  \"variance_total\": \(num(total)),\n"
        s += "  \"mean\": [\(mean.map(num).joined(separator: ", "))],\n"
        s += "  \"stddev\": [\((0..<components).map { num(max(values[$0], 0).squareRoot()) }.joined(separator: ", "))],\n"
        s += "  \"components\": [\n"
        s += (0..<components).map { k in "    [\(vectors[k].map(num).joined(separator: ", "))]" }.joined(separator: ",\n")
        s += "\n  ]\n}\n"
        do { try AtomicFile.write(Array(s.utf8), to: out) } catch { fail("\(error)") }
        let share = (0..<components).reduce(0.0) { $0 + values[$1] } / total
        print(String(format: "vae-train: wrote %@: %d components of %d training latents (%.1f s); they carry %.1f%% of the variance (total %.2f); sd %@",
                     out, components, mus.count, Date().timeIntervalSince(t0), 100 * share, total,
                     (0..<components).map { String(format: "%.3f", max(values[$0], 0).squareRoot()) }.joined(separator: " ")))
    }

    /// Eigenvalues (descending) and unit eigenvectors of the symmetric n x n matrix `m`
    /// (row-major), by cyclic Jacobi rotations; each vector signed so that its largest-magnitude
    /// entry is positive.
    static func symmetricEigen(_ m: [Double], _ n: Int) -> ([Double], [[Double]]) {
        var a = m
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<n { off += a[p * n + q] * a[p * n + q] } }
            if off < 1e-30 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where a[p * n + q] != 0 {
                    let apq = a[p * n + q]
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {   // columns p and q of a
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq; a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {   // rows p and q
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk; a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq; v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        let values = order.map { a[$0 * n + $0] }
        let vectors: [[Double]] = order.map { col in
            var e = (0..<n).map { v[$0 * n + col] }
            let big = e.max { abs($0) < abs($1) } ?? 1
            if big < 0 { e = e.map { -$0 } }
            return e
        }
        return (values, vectors)
    }
}
