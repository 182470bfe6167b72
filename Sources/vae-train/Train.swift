import ArgumentParser
import Checkpoint
import Foundation
import ImageIO
import VAETrainer

func formatDuration(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "--:--" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
}

/// One progress line: "epoch 3/20 [#####...] " and the figures. With `columns` (a terminal) it
/// must fit, since a line that wraps leaves the carriage return on its last row and every redraw
/// would then scroll a new copy: the first of `figures` (longest first) that fits beside a bar of
/// at least 8, else the last one with no bar, cut to the width.
func progressLine(head: String, done: Int, of total: Int, figures: [String], columns: Int? = nil) -> String {
    func bar(_ width: Int) -> String {
        width < 1 ? "" : " [" + String(repeating: "#", count: width * done / total) + String(repeating: ".", count: width - width * done / total) + "]"
    }
    guard let columns else { return head + bar(24) + " " + figures[0] }
    for f in figures {
        let room = columns - 1 - head.count - f.count - 4
        if room >= 8 { return head + bar(min(room, 24)) + " " + f }
    }
    return String((head + " " + figures[figures.count - 1]).prefix(max(columns - 1, 1)))
}

/// The width of the terminal on stderr (80 when it does not say).
func terminalColumns() -> Int {
    var ws = winsize()
    let ok = withUnsafeMutablePointer(to: &ws) { ioctl(2, UInt(TIOCGWINSZ), $0) } == 0
    return ok && ws.ws_col > 0 ? Int(ws.ws_col) : 80
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train (the default subcommand).",
        discussion: """
        loss.png shows the original report's best validation total (112.77) as a dashed
        line \(ReportReference.ruleForHelp); otherwise it is left out.
        """)

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

    @Option(help: "Transposed-convolution layers in the decoder: 4, 5, 6 or 8 (new runs only; the plans are in docs/training.md; default 6).")
    var decoderLayers: Int?

    @Option(help: ArgumentHelp("Hidden decoder layers' activation: relu, leaky-relu (slope 0.01) or leaky-relu:SLOPE with SLOPE in (0, 1) (new runs only; default leaky-relu:0.01).", valueName: "activation"))
    var activation: String?

    @Option(help: ArgumentHelp("How the LSTM's last hidden state becomes the latent's mean and log-variance: fc (two Linear heads, the report's FC+) or split (its first 64 components are the mean, the last 64 the log-variance, no heads: FC-) (new runs only; default fc).", valueName: "fc|split"))
    var sampler: String?

    @Flag(help: "BatchNorm2d after every hidden transposed convolution, before its activation (new runs only; folded into the convolutions in the decoder image, so vae-gen never sees it).")
    var batchNorm = false

    @Flag(help: "Print one line per epoch only, no progress bar.")
    var quiet = false

    func validate() throws {
        if epochs < 1 || epochs > 100_000 { throw ValidationError("--epochs must be between 1 and 100000 (got \(epochs))") }
        if !(lr > 0 && lr < 1) { throw ValidationError("--lr must be in (0, 1) (got \(lr))") }
        if batch < 1 || batch > 4096 { throw ValidationError("--batch must be between 1 and 4096 (got \(batch))") }
        if let n = decoderLayers, !ModelConfig.decoderLayerCounts.contains(n) {
            throw ValidationError("--decoder-layers must be 4, 5, 6 or 8 (got \(n))")
        }
        if let a = activation, let reason = ModelConfig.HiddenActivation.parse(a).1 { throw ValidationError("--activation: \(reason)") }
        if let v = sampler, ModelConfig.Sampler(option: v) == nil { throw ValidationError("--sampler must be fc or split (got '\(v)')") }
        if resume != nil && (decoderLayers != nil || activation != nil || sampler != nil || batchNorm) {
            throw ValidationError("--decoder-layers, --activation, --sampler and --batch-norm are for new runs: a resumed run keeps the model its checkpoint describes")
        }
    }

    func run() throws {
        // The output folder must be usable before hours of work go into it.
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            fail("cannot create --out folder \(out): \(error.localizedDescription)")
        }
        let probe = (out as NSString).appendingPathComponent(".write-probe-\(getpid())")
        let pfd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if pfd < 0 {
            let e = errno
            fail("--out folder \(out) is not writable: \(String(cString: strerror(e)))\(e == EROFS ? " (a read-only mount)" : ""); choose another --out")
        }
        close(pfd); unlink(probe)
        // Room for what every epoch writes (two checkpoints, each beside its temporary, and the
        // plots): found now, not after the first epoch's work.
        var vfs = statvfs()
        if statvfs(out, &vfs) == 0 {
            let free = UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize)
            if free < Train.minimumFreeBytes {
                fail("--out folder \(out) has \(free) bytes free; every epoch writes about 6 MB (latest.vaeckpt and best.vaeckpt, each beside its temporary, and the plots), so at least \(Train.minimumFreeBytes >> 20) MiB must be free")
            }
        }
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
            let act = activation.map { ModelConfig.HiddenActivation.parse($0).0! } ?? .leakyReLU(slope: 0.01)
            var config = ModelConfig.decoder(layers: decoderLayers ?? 6, activation: act)
            config.sampler = sampler.flatMap(ModelConfig.Sampler.init(option:)) ?? .linearHeads
            config.batchNorm = batchNorm
            if let reason = config.validate() { fail("internal: the decoder plan is invalid: \(reason)") }
            state = TrainState(config: config, hyper: h)
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
        // On a terminal: a live progress line, redrawn in place. Redirected to a file (nohup, CI):
        // a plain line at every quarter of an epoch, so a log shows progress without carriage returns.
        let isTTY = isatty(2) != 0 && !quiet
        let logProgress = isatty(2) == 0 && !quiet
        let runStart = Date()
        let startEpoch = state.epoch
        let mnistValidation = ReportReference.isMNISTTestSet(data.test)
        FileHandle.standardError.write(Data("vae-train: \(data.train.count) training, \(data.test.count) validation images; epochs \(startEpoch + 1)...\(epochs); batch \(state.hyper.batch), lr \(state.hyper.lr), seed \(state.hyper.seed), \(dataOptions.threads) threads\n".utf8))
        var lastPrint = Date.distantPast
        // The last epoch saved whole, for the message when a write fails.
        var savedEpoch = startEpoch
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
                let eta = "ETA \(formatDuration(epochLeft)) epoch, \(formatDuration(runLeft)) run"
                let figures = [String(format: "%d/%d  %.0f img/s  loss %.2f (rec %.2f + KL %.2f)  %@", p.batchesDone, p.batches,
                                      rate, p.runningRec + p.runningKL, p.runningRec, p.runningKL, eta),
                               String(format: "%d/%d  %.0f img/s  loss %.2f  %@", p.batchesDone, p.batches,
                                      rate, p.runningRec + p.runningKL, eta)]
                let line = progressLine(head: "epoch \(e)/\(epochs)", done: p.batchesDone, of: p.batches, figures: figures,
                                        columns: isTTY ? terminalColumns() : nil)
                // On a terminal: back to column 0, the line, clear what a longer one left.
                FileHandle.standardError.write(Data((isTTY ? "\r" + line + "\u{1B}[K" : line + "\n").utf8))
            }
            if isTTY { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let st = trainer.state
            let isBest = record.valTotal <= (st.bestValTotal ?? .infinity)
            do {
                // best first: a kill between the two leaves latest one epoch behind, and resuming
                // from it redoes the epoch bit for bit and writes both again (latest first would
                // leave best stale until a later epoch beat it).
                if isBest { try st.save(to: best) }
                try st.save(to: latest)
                savedEpoch = e
                try writeHistory(st.history)
                try writeLossPlot(st.history, mnistValidation: mnistValidation,
                                  to: (out as NSString).appendingPathComponent("loss.png"))
                try writeSamples(trainer)
            } catch {
                // A full disk or a read-only mount mid-run: every file is whole (atomic writes);
                // say which epoch the run can continue from.
                let from = savedEpoch > startEpoch ? latest : resume
                fail("\(error)\n" + (from.map { "vae-train: \($0) holds epoch \(savedEpoch), whole; make room and continue with --resume \($0) --epochs \(epochs)" }
                    ?? "vae-train: no checkpoint was written; make room and run again"))
            }
            let elapsed = Date().timeIntervalSince(runStart)
            let eta = elapsed / Double(e - startEpoch) * Double(epochs - e)
            print(String(format: "epoch %3d  %6.1fs  train %.2f (rec %.2f + KL %.2f)  val %.2f (rec %.2f + KL %.2f)%@  ETA %@",
                         e, record.seconds, record.trainTotal, record.trainRec, record.trainKL, record.valTotal, record.valRec,
                         record.valKL, isBest ? "  *best" : "", formatDuration(eta)))
            fflush(stdout)
        }
    }

    /// Free space --out must have at the start.
    static let minimumFreeBytes: UInt64 = 16 << 20

    func writeHistory(_ h: [EpochRecord]) throws {
        var s = "epoch,seconds,train_rec,train_kl,train_total,val_rec,val_kl,val_total\n"
        for r in h {
            s += String(format: "%d,%.3f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", r.epoch, r.seconds, r.trainRec, r.trainKL, r.trainTotal,
                        r.valRec, r.valKL, r.valTotal)
        }
        try AtomicFile.write(Array(s.utf8), to: (out as NSString).appendingPathComponent("history.csv"))
    }

    func writeSamples(_ trainer: Trainer) throws {
        let tiles = trainer.sampleDigits(count: 64, seed: 42)
        let grid = Grid.compose(tiles, tileWidth: 28, tileHeight: 28, gap: 2, scale: 2)
        try AtomicFile.write(PNG.encode(grid), to: (out as NSString).appendingPathComponent("samples.png"))
    }
}
