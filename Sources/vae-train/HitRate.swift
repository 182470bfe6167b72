import ArgumentParser
import Checkpoint
import Foundation
import VAEDecoder
import VAETrainer

struct HitRate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hit-rate",
        abstract: "How often vae-gen --digit D draws a D (a classifier trained here).",
        discussion: """
        Trains a logistic regression on the MNIST training pixels (fixed seed, so
        the same data gives the same classifier), prints its accuracy on the test
        images, then for each digit decodes images 0 ..< -n of --seed from the
        checkpoint's class priors with the runtime's float32 decoder, exactly as
        vae-gen --digit D --seed S -n N does, and prints the share classified as
        D.

        Example:
          vae-train hit-rate --checkpoint checkpoints/vae-mnist.vaeckpt \\
                             --data ../shared/data/mnist -n 1000 --seed 42
        """)

    @Option(help: "Checkpoint with class priors (vae-train fit-priors).")
    var checkpoint: String

    @Option(help: "Folder with the MNIST IDX files and labels.")
    var data = MNIST.defaultFolder

    @Option(help: "Seed of the generated digits.")
    var seed: UInt64 = 42

    @Option(name: .shortAndLong, help: "Digits generated per class.")
    var n = 1000

    func run() throws {
        let priors: ClassPriors, image: [UInt8], sets: (train: ImageSet, test: ImageSet), trainLabels: [UInt8], testLabels: [UInt8]
        do {
            priors = try CheckpointReader.readClassPriors(checkpoint)
            image = try CheckpointReader.readDecoderImage(checkpoint).image
            sets = try MNIST.loadFolder(data)
            trainLabels = try MNIST.loadLabels(try labelsPath(data, "train-labels-idx1-ubyte"), count: sets.train.count)
            testLabels = try MNIST.loadLabels(try labelsPath(data, "t10k-labels-idx1-ubyte"), count: sets.test.count)
        } catch { fail("\(error)") }
        let clf = DigitClassifier(train: sets.train, labels: trainLabels)
        print(String(format: "classifier: logistic regression on pixels, test accuracy %.2f%% (%d test images)", 100 * clf.accuracy(sets.test, labels: testLabels), sets.test.count))
        let rt: LoadedDecoder
        do { rt = try LoadedDecoder(image: image) } catch { fail("\(checkpoint): \(error.message)") }
        let d = rt.model.latent, px = rt.model.pixelCount
        var z = [Float](repeating: 0, count: d)
        var pixels = [UInt8](repeating: 0, count: px)
        var total = 0
        print("\(priors.kind) priors, seed \(seed), \(n) digits each:")
        for c in 0..<priors.classes {
            var hits = 0
            for i in 0..<n {
                priors.means[c].withUnsafeBufferPointer { m in
                    priors.scales[c].withUnsafeBufferPointer { s in
                        z.withUnsafeMutableBufferPointer { ClassLatent.fill(seed: seed, image: UInt64(i), latent: d, mean: m.baseAddress!, scale: s.baseAddress!, full: priors.kind == .full, into: $0.baseAddress!) }
                    }
                }
                z.withUnsafeBufferPointer { zp in pixels.withUnsafeMutableBufferPointer { rt.decoder.decode(latent: zp.baseAddress!, pixels: $0.baseAddress!) } }
                if clf.classify(pixels[...]) == c { hits += 1 }
            }
            total += hits
            print(String(format: "  digit %d: %5.1f%% (%d of %d)", c, 100 * Double(hits) / Double(n), hits, n))
        }
        print(String(format: "  all: %.1f%%", 100 * Double(total) / Double(n * priors.classes)))
    }
}
