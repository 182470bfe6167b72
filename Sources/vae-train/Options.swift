import ArgumentParser
import Foundation
import VAETrainer

/// The data and threading options that training and the benchmark share.
struct DataOptions: ParsableArguments {
    @Option(help: "Folder with the MNIST IDX files (train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz; .gz or plain). data/mnist is ignored by git, so the data can live in the checkout.")
    var data = MNIST.defaultFolder

    @Option(help: "Use only the first N training images (quick runs; default: all).")
    var trainLimit: Int?

    @Option(help: "Use only the first N validation images (default: all; a subset is not MNIST's test set, so loss.png draws no reference line).")
    var valLimit: Int?

    @Option(help: "Worker threads. Results do not depend on it.")
    var threads = 2

    func validate() throws {
        if let n = trainLimit, n < 1 { throw ValidationError("--train-limit must be at least 1 (got \(n))") }
        if let n = valLimit, n < 1 { throw ValidationError("--val-limit must be at least 1 (got \(n))") }
        if threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256 (got \(threads))") }
    }

    func load() throws -> (train: ImageSet, test: ImageSet) {
        let d = try MNIST.loadFolder(data)
        return (trainLimit.map { d.train.prefix($0) } ?? d.train, valLimit.map { d.test.prefix($0) } ?? d.test)
    }
}

/// Prints the message and exits non-zero, for errors a user can act on.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("vae-train: error: \(message)\n".utf8))
    exit(1)
}
