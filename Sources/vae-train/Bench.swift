import ArgumentParser
import Foundation
import VAETrainer

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Training speed: one epoch over --images images, nothing written.",
        discussion: "Prints seconds per (full 60,000-image) epoch, images per second and GFLOP/s (multiply-adds of the model's products counted as two; flopsPerImage) for the forward+backward+Adam step, and the same for the validation forward pass over 2,560 test images.")

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
        let nv = min(2560, data.test.count)
        let v0 = Date()
        _ = trainer.evaluate(data.test.prefix(nv), noiseSeed: 1)
        let vsecs = Date().timeIntervalSince(v0)
        let vrate = Double(nv) / vsecs
        let cfg = trainer.state.config
        let gTrain = flopsPerImage(cfg, training: true) * rate / 1e9
        let gVal = flopsPerImage(cfg, training: false) * vrate / 1e9
        print(String(format: "train: %d images in %.2f s = %.0f images/s = %.1f s per 60,000-image epoch = %.0f GFLOP/s (%d threads)",
                     sub.count, t.seconds, rate, 60_000 / rate, gTrain, dataOptions.threads))
        print(String(format: "validation forward: %d images in %.2f s = %.0f images/s = %.1f s per 10,000 images = %.0f GFLOP/s",
                     nv, vsecs, vrate, 10_000 / vrate, gVal))
    }
}
