import ArgumentParser
import Checkpoint
import Foundation
import VAETrainer

enum CovarianceChoice: String, ExpressibleByArgument, CaseIterable { case diagonal, full }

/// The labels file beside the images in an MNIST-style folder.
func labelsPath(_ dir: String, _ stem: String) throws -> String {
    for name in [stem + ".gz", stem] {
        let p = (dir as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: p) { return p }
    }
    throw DataError(path: dir, problem: "has no \(stem).gz (nor \(stem)); fitting class priors and measuring hit rates need the labels")
}

struct FitPriors: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-priors",
        abstract: "Fit a Gaussian per digit in latent space into the checkpoint (PRIO).",
        discussion: """
        The model stays unconditional: the encoder's mean latent of every labelled
        training image is computed, and one Gaussian per digit fitted to them
        (diagonal: a standard deviation per dimension; full: the covariance's
        Cholesky factor). vae-gen --digit D then draws z = mean + L e with e the
        seeded generator's latent (docs/latent-generator.md, section 6). Every
        other section is kept byte for byte.

        Examples:
          vae-train fit-priors --checkpoint checkpoints/vae-mnist.vaeckpt \\
                               --data ../shared/data/mnist
          vae-train fit-priors --checkpoint c.vaeckpt --data DIR \\
                               --covariance diagonal --out c-diag.vaeckpt
        """)

    @Option(help: "Checkpoint whose encoder is used (and which is rewritten unless --out is given).")
    var checkpoint: String

    @Option(help: "Folder with the MNIST IDX files (the training images and labels are read).")
    var data = MNIST.defaultFolder

    @Option(help: "Covariance: full or diagonal.")
    var covariance: CovarianceChoice = .full

    @Option(help: "Checkpoint to write (default: over --checkpoint).")
    var out: String?

    @Option(help: "Worker threads. Results do not depend on it.")
    var threads = 2

    func run() throws {
        let ck: CheckpointContents, original: [UInt32: [UInt8]], train: ImageSet, labels: [UInt8]
        do {
            ck = try CheckpointReader.read(checkpoint)
            original = try CheckpointReader.rawSections(checkpoint)
            train = try MNIST.loadFolder(data).train
            labels = try MNIST.loadLabels(try labelsPath(data, "train-labels-idx1-ubyte"), count: train.count)
        } catch { fail("\(error)") }
        let t0 = Date()
        let means = LatentMeans.compute(config: ck.inferenceModel.config, params: ck.inferenceModel.params, images: train, threads: threads)
        let priors = GaussianFit.fit(latents: means, labels: labels, classes: 10, kind: covariance == .full ? .full : .diagonal)
        var c = ck
        c.classPriors = priors
        let target = out ?? checkpoint
        do {
            let bytes = CheckpointWriter.encode(c)
            let written = try CheckpointReader.rawSections(bytes: bytes, path: target)
            for (tag, raw) in original where tag != SectionTag.classPriors && written[tag] != raw {
                fail("\(checkpoint): section \(SectionTag.name(tag)) would not be kept byte for byte; nothing written")
            }
            try AtomicFile.write(bytes, to: target)
        } catch { fail("\(error)") }
        print("vae-train: \(covariance.rawValue) Gaussians for 10 digits from \(train.count) training images' mean latents (\(priors.counts.map(String.init).joined(separator: " ")) per digit) in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s -> \(target)")
    }
}
