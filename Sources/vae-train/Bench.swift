import ArgumentParser
import Foundation
import VAETrainer

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training speed: one epoch over --images images, nothing written.",
        discussion: "Prints seconds per (full 60,000-image) epoch and images per second for the forward+backward+Adam step.")

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Training images to time (a multiple of the batch size keeps batches full).")
    var images = 12_800

    func run() throws {
        let data: (train: ImageSet, test: ImageSet)
        do { data = try dataOptions.load() } catch { fail("\(error)") }
        let sub = data.train.prefix(images)
        let trainer = Trainer(state: TrainState(config: .standard, hyper: Hyper()), threads: dataOptions.threads)
        _ = trainer.trainEpoch(sub.prefix(256))   // warm-up
        let t = trainer.trainEpoch(sub)
        let rate = Double(sub.count) / t.seconds
        let v0 = Date()
        _ = trainer.evaluate(data.test.prefix(min(2560, data.test.count)), noiseSeed: 1)
        let vrate = Double(min(2560, data.test.count)) / Date().timeIntervalSince(v0)
        print(String(format: "train: %d images in %.2f s = %.0f images/s = %.1f s per 60,000-image epoch (%d threads)",
                     sub.count, t.seconds, rate, 60_000 / rate, dataOptions.threads))
        print(String(format: "validation forward: %.0f images/s = %.1f s per 10,000 images", vrate, 10_000 / vrate))
    }
}
