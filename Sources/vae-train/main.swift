import ArgumentParser
import Checkpoint
import Foundation
import ImageIO
import VAETrainer
import VAEDecoder

@main
struct VAETrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae-train",
        abstract: "Train the LSTM-encoder / transposed-convolution-decoder VAE on MNIST.",
        discussion: """
        Trains on the 60,000 training images and validates on the 10,000 test
        images after every epoch. The output folder receives:
          latest.vaeckpt  the state after the last finished epoch (resume it)
          best.vaeckpt    the epoch with the lowest validation total so far
          history.csv     per epoch: seconds, train and validation
                          reconstruction / KL / total, per image
          loss.png        loss and KL term over the epochs
          samples.png     64 digits from fixed latents, refreshed every epoch

        Examples:
          vae-train --epochs 20 --out runs/mnist
          vae-train --epochs 40 --out runs/mnist \\
                    --resume runs/mnist/latest.vaeckpt
          vae-train bench --images 12800

        A resumed run gives the same weights, bit for bit, as an uninterrupted
        one with the same seed (docs/training.md). Options of the default
        subcommand: vae-train help train
        """,
        subcommands: [Train.self, Bench.self, Plot.self, MakeGoldens.self],
        defaultSubcommand: Train.self)
}

struct DataOptions: ParsableArguments {
    @Option(help: "Folder with the MNIST IDX files (train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz).")
    var data = "../shared/data/mnist"

    @Option(help: "Use only the first N training images (quick runs; default: all).")
    var trainLimit: Int?

    @Option(help: "Use only the first N validation images (default: all).")
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

/// Prints one clear line and exits non-zero, for errors a user can act on.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("vae-train: error: \(message)\n".utf8))
    exit(1)
}

func formatDuration(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "--:--" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train (the default subcommand).")

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Train until this many epochs are done (counting those of a resumed run).")
    var epochs = 20

    @Option(help: "Output folder for checkpoints, history.csv and plots.")
    var out: String

    @Option(help: "Continue the run saved in this checkpoint (usually OUT/latest.vaeckpt).")
    var resume: String?

    @Option(help: "Seed for initialisation, shuffling and sampling noise (new runs only).")
    var seed: UInt64 = 0

    @Option(help: "Adam learning rate (new runs only).")
    var lr = 1e-3

    @Option(help: "Images per batch (new runs only).")
    var batch = 128

    @Flag(help: "Print one line per epoch only, no progress bar.")
    var quiet = false

    func validate() throws {
        if epochs < 1 || epochs > 100_000 { throw ValidationError("--epochs must be between 1 and 100000 (got \(epochs))") }
        if !(lr > 0 && lr < 1) { throw ValidationError("--lr must be in (0, 1) (got \(lr))") }
        if batch < 1 || batch > 4096 { throw ValidationError("--batch must be between 1 and 4096 (got \(batch))") }
    }

    func run() throws {
        // The output folder must be usable before hours of work go into it.
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            fail("cannot create --out folder \(out): \(error.localizedDescription)")
        }
        let probe = (out as NSString).appendingPathComponent(".write-probe-\(getpid())")
        guard fm.createFile(atPath: probe, contents: Data()) else { fail("--out folder \(out) is not writable") }
        try? fm.removeItem(atPath: probe)
        let latest = (out as NSString).appendingPathComponent("latest.vaeckpt")
        let best = (out as NSString).appendingPathComponent("best.vaeckpt")
        if resume == nil && fm.fileExists(atPath: latest) {
            fail("\(out) already holds a run (latest.vaeckpt); continue it with --resume \(latest), or choose another --out")
        }

        let state: TrainState
        if let resume {
            do { state = try TrainState(checkpoint: resume) } catch { fail("\(error)") }
            if state.epoch >= epochs { fail("\(resume) has already done \(state.epoch) epochs; ask for more with --epochs") }
        } else {
            var h = Hyper()
            h.seed = seed; h.lr = lr; h.batch = batch
            state = TrainState(config: .standard, hyper: h)
        }
        let data: (train: ImageSet, test: ImageSet)
        do { data = try dataOptions.load() } catch { fail("\(error)") }
        if resume != nil && state.imagesPerEpoch != 0 && state.imagesPerEpoch != data.train.count {
            fail("the run was trained on \(state.imagesPerEpoch) images per epoch, now \(data.train.count); resume with the same data and --train-limit")
        }
        let trainer = Trainer(state: state, threads: dataOptions.threads)
        // Ctrl-C or a kill: the files on disk are always whole (atomic writes); say where to pick up.
        let outDir = out
        var signalSources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let msg = "\nvae-train: stopped; \(outDir)/latest.vaeckpt holds the last finished epoch. Continue with --resume \(outDir)/latest.vaeckpt\n"
                FileHandle.standardError.write(Data(msg.utf8))
                Foundation.exit(130)
            }
            source.resume()
            signalSources.append(source)
        }
        defer { signalSources.forEach { $0.cancel() } }
        // On a terminal: a live progress bar. Redirected to a file (nohup, CI): a plain line at
        // every quarter of an epoch, so a log shows progress without carriage returns.
        let isTTY = isatty(2) != 0 && !quiet
        let logProgress = !isTTY && !quiet
        let runStart = Date()
        let startEpoch = state.epoch
        FileHandle.standardError.write(Data("vae-train: \(data.train.count) training, \(data.test.count) validation images; epochs \(startEpoch + 1)...\(epochs); batch \(state.hyper.batch), lr \(state.hyper.lr), seed \(state.hyper.seed), \(dataOptions.threads) threads\n".utf8))
        var lastPrint = Date.distantPast
        for e in (startEpoch + 1)...epochs {
            let record = trainer.runEpoch(train: data.train, validation: data.test) { p in
                let now = Date()
                let quarter = p.batchesDone * 4 / p.batches != (p.batchesDone - 1) * 4 / p.batches
                let show = isTTY ? (now.timeIntervalSince(lastPrint) > 0.25 || p.batchesDone == p.batches)
                                 : (logProgress && quarter && p.batchesDone < p.batches)
                guard show else { return }
                lastPrint = now
                let rate = Double(p.imagesDone) / max(p.seconds, 1e-9)
                let epochLeft = Double(data.train.count - p.imagesDone) / rate
                let perEpoch = Double(data.train.count) / rate * 1.08   // + validation
                let runLeft = epochLeft + Double(epochs - e) * perEpoch
                let width = 24, filled = width * p.batchesDone / p.batches
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                let line = String(format: isTTY ? "\repoch %d/%d [%@]" : "epoch %d/%d [%@] %d/%d  %.0f img/s  loss %.2f (rec %.2f + KL %.2f)  ETA %@ epoch, %@ run ",
                                  e, epochs, bar, p.batchesDone, p.batches, rate, p.runningRec + p.runningKL, p.runningRec,
                                  p.runningKL, formatDuration(epochLeft), formatDuration(runLeft))
                FileHandle.standardError.write(Data((isTTY ? line : line + "\n").utf8))
            }
            if isTTY { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let st = trainer.state
            let isBest = record.valTotal <= (st.bestValTotal ?? .infinity)
            do {
                try st.save(to: latest)
                if isBest { try st.save(to: best) }
                try writeHistory(st.history)
                try writePlot(st.history)
                try writeSamples(trainer)
            } catch { fail("\(error)") }
            let elapsed = Date().timeIntervalSince(runStart)
            let eta = elapsed / Double(e - startEpoch) * Double(epochs - e)
            print(String(format: "epoch %3d  %6.1fs  train %.2f (rec %.2f + KL %.2f)  val %.2f (rec %.2f + KL %.2f)%@  ETA %@",
                         e, record.seconds, record.trainTotal, record.trainRec, record.trainKL, record.valTotal, record.valRec,
                         record.valKL, isBest ? "  *best" : "", formatDuration(eta)))
            fflush(stdout)
        }
    }

    func writeHistory(_ h: [EpochRecord]) throws {
        var s = "epoch,seconds,train_rec,train_kl,train_total,val_rec,val_kl,val_total\n"
        for r in h {
            s += String(format: "%d,%.3f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", r.epoch, r.seconds, r.trainRec, r.trainKL, r.trainTotal,
                        r.valRec, r.valKL, r.valTotal)
        }
        try AtomicFile.write(Array(s.utf8), to: (out as NSString).appendingPathComponent("history.csv"))
    }

    func writePlot(_ h: [EpochRecord]) throws {
        try writeLossPlot(h, to: (out as NSString).appendingPathComponent("loss.png"))
    }


    func writeSamples(_ trainer: Trainer) throws {
        let tiles = trainer.sampleDigits(count: 64, seed: 42)
        let grid = Grid.compose(tiles, tileWidth: 28, tileHeight: 28, gap: 2, scale: 2)
        try AtomicFile.write(PNG.encode(grid), to: (out as NSString).appendingPathComponent("samples.png"))
    }
}

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

struct MakeGoldens: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-goldens",
        abstract: "Regenerate the golden images the decoder runtime is tested against.",
        discussion: """
        For each seed, images 0..<16: the trainer's own float decoder's outputs (float32, computed by
        the training code) and the runtime's 8-bit images with their SHA-256 digests. Run it after
        replacing the shipped checkpoint, review the new images, and commit them:
          vae-train make-goldens --checkpoint checkpoints/vae-mnist.vaeckpt --out Tests/DecoderTests/Goldens
        Tests never regenerate goldens.
        """)

    @Option(help: "Checkpoint the goldens are made from.")
    var checkpoint = "checkpoints/vae-mnist.vaeckpt"

    @Option(help: "Output folder.")
    var out = "Tests/DecoderTests/Goldens"

    @Option(parsing: .upToNextOption, help: "Seeds.")
    var seeds: [UInt64] = [0, 42, 2026]

    @Option(help: "Images per seed.")
    var count = 16

    func run() throws {
        let ck: CheckpointContents
        let image: [UInt8]
        do { ck = try CheckpointReader.read(checkpoint); image = try CheckpointReader.readDecoderImage(checkpoint).image } catch { fail("\(error)") }
        guard let fileBytes = FileManager.default.contents(atPath: checkpoint) else { fail("\(checkpoint): cannot read") }
        try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let trainerDecoder = TrainerDecoder(config: ck.config, params: ck.params)
        // The runtime, in buffers made once.
        let img = UnsafeMutableRawBufferPointer.allocate(byteCount: image.count, alignment: 64)
        defer { img.deallocate() }
        img.copyBytes(from: image)
        let model: DecoderModel
        do { model = try DecoderModel(image: UnsafeRawBufferPointer(img)) } catch { fail("\(checkpoint): \(error.message)") }
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: Decoder.arenaBytes(for: model), alignment: 64)
        defer { arena.deallocate() }
        let decoder: Decoder
        do { decoder = try Decoder(model: model, arena: arena) } catch { fail("\(error.message)") }
        var digests = "# SHA-256 of the runtime's 8-bit images (784 bytes each; all16 = the 16 concatenated).\n"
        digests += "checkpoint sha256 \(SHA256.hex(of: fileBytes))\n"
        for seed in seeds {
            let latents = TrainerDecoder.seededLatents(seed: seed, count: count, latent: ck.config.latent)
            let floats = trainerDecoder.decode(latents)
            var fbytes = ByteBuffer()
            for img in floats { for v in img { fbytes.append(v.bitPattern) } }
            var u8 = [UInt8](repeating: 0, count: count * model.pixelCount)
            var lat = [Float](repeating: 0, count: model.latent)
            u8.withUnsafeMutableBufferPointer { px in
                lat.withUnsafeMutableBufferPointer { l in
                    for i in 0..<count { decoder.generate(seed: seed, index: UInt64(i), latentScratch: l.baseAddress!, pixels: px.baseAddress! + i * model.pixelCount) }
                }
            }
            for i in 0..<count {
                digests += "seed \(seed) image \(i) sha256 \(SHA256.hex(of: u8[(i * model.pixelCount)..<((i + 1) * model.pixelCount)]))\n"
            }
            digests += "seed \(seed) all\(count) sha256 \(SHA256.hex(of: u8))\n"
            do {
                try AtomicFile.write(fbytes.bytes, to: (out as NSString).appendingPathComponent("trainer-f32-seed\(seed).bin"))
                try AtomicFile.write(u8, to: (out as NSString).appendingPathComponent("runtime-u8-seed\(seed).bin"))
                let grid = Grid.compose((0..<count).map { Array(u8[($0 * 784)..<(($0 + 1) * 784)]) }, tileWidth: 28, tileHeight: 28, gap: 2, scale: 3)
                try AtomicFile.write(PNG.encode(grid), to: (out as NSString).appendingPathComponent("runtime-u8-seed\(seed).png"))
            } catch { fail("\(error)") }
        }
        do { try AtomicFile.write(Array(digests.utf8), to: (out as NSString).appendingPathComponent("digests.txt")) } catch { fail("\(error)") }
        print("vae-train: goldens for seeds \(seeds.map(String.init).joined(separator: ", ")) written to \(out)")
    }
}

struct ByteBuffer {
    var bytes: [UInt8] = []
    mutating func append(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
}

/// loss.png: the loss and the KL term per image over the epochs, training and validation.
func writeLossPlot(_ h: [EpochRecord], to path: String) throws {
    let blue: (UInt8, UInt8, UInt8) = (31, 119, 180), orange: (UInt8, UInt8, UInt8) = (255, 127, 14)
    func pts(_ f: (EpochRecord) -> Double) -> [(x: Double, y: Double)] { h.map { (Double($0.epoch), f($0)) } }
    let loss = Panel(title: "Loss per image (BCE + KL)", xLabel: "epoch", yLabel: "nats", series: [
        Series(name: "train", color: blue, points: pts(\.trainTotal), dashed: false),
        Series(name: "validation", color: orange, points: pts(\.valTotal), dashed: false),
        Series(name: "original report's best (112.77)", color: (128, 128, 128),
               points: h.isEmpty ? [] : [(Double(h.first!.epoch), 112.77), (Double(h.last!.epoch), 112.77)], dashed: true)])
    let kl = Panel(title: "KL term per image", xLabel: "epoch", yLabel: "nats", series: [
        Series(name: "train", color: blue, points: pts(\.trainKL), dashed: false),
        Series(name: "validation", color: orange, points: pts(\.valKL), dashed: false)])
    let img = LinePlot.render([loss, kl], width: 1200, height: 450)
    try AtomicFile.write(PNG.encode(img), to: path)
}

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw loss.png from the history stored in a checkpoint.",
        discussion: "Example: vae-train plot --checkpoint runs/mnist/latest.vaeckpt --out loss.png")

    @Option(help: "Checkpoint whose history to plot.") var checkpoint: String
    @Option(help: "PNG to write.") var out = "loss.png"

    func run() throws {
        do {
            let s = try TrainState(checkpoint: checkpoint)
            guard !s.history.isEmpty else { fail("\(checkpoint) holds no history to plot") }
            try writeLossPlot(s.history, to: out)
            print("vae-train: wrote \(out) (\(s.history.count) epochs)")
        } catch { fail("\(error)") }
    }
}
