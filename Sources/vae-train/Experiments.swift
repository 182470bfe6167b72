import ArgumentParser
import Checkpoint
import Foundation
import ImageIO
import VAETrainer

/// One model of the original report's comparison, with the figures the report gives for it.
struct StudyVariant {
    var name: String          // folder name and the key of --variants
    var reportName: String    // as the report labels it
    var layers: Int
    var activation: ModelConfig.HiddenActivation
    var batchNorm: Bool
    var sampler: ModelConfig.Sampler
    /// The report's training and validation total, reconstruction, KL per image.
    var report: (trainTotal: Double, trainRec: Double, trainKL: Double, valTotal: Double, valRec: Double, valKL: Double)

    var config: ModelConfig {
        var c = ModelConfig.decoder(layers: layers, activation: activation)
        c.sampler = sampler; c.batchNorm = batchNorm
        return c
    }

    var options: [String] {
        let act: String
        switch activation {
        case .relu: act = "relu"
        case .leakyReLU(let s): act = "leaky-relu:\(s)"
        }
        return ["--decoder-layers", "\(layers)", "--activation", act, "--sampler", sampler.option] + (batchNorm ? ["--batch-norm"] : [])
    }

    /// The runtime's decoder (batch norm folded away): parameters and multiply-adds per image.
    var decoderCost: (params: Int, macs: Int) {
        let c = config.inference
        let params = ParamLayout(c).entries.filter(\.isDecoder).map(\.count).reduce(0, +)
        let macs = c.layers.indices.map { i -> Int in
            let l = c.layers[i], s = c.side(atLayer: i)
            return l.inChannels * l.outChannels * l.kernel * l.kernel * s * s
        }.reduce(0, +)
        return (params, macs)
    }

    /// The ten rows of the report's table, in its order (original-report.md).
    static let report: [StudyVariant] = {
        func v(_ n: String, _ r: String, _ l: Int, _ a: ModelConfig.HiddenActivation, bn: Bool = false, split: Bool = false,
               _ f: (Double, Double, Double, Double, Double, Double)) -> StudyVariant {
            StudyVariant(name: n, reportName: r, layers: l, activation: a, batchNorm: bn, sampler: split ? .split : .linearHeads, report: f)
        }
        let l001 = ModelConfig.HiddenActivation.leakyReLU(slope: 0.01), l02 = ModelConfig.HiddenActivation.leakyReLU(slope: 0.2)
        return [
            v("4-leaky0.01-fc", "4 layer, leaky(0.01), bn-, FC+", 4, l001, (118.945686, 91.368050, 27.577604, 117.775909, 89.884445, 27.891415)),
            v("4-leaky0.01-split", "4 layer, leaky(0.01), bn-, FC-", 4, l001, split: true,
              (132.336533, 108.537201, 23.799326, 130.883347, 107.122009, 23.761320)),
            v("4-leaky0.01-bn-fc", "4 layer, leaky(0.01), bn+, FC+", 4, l001, bn: true,
              (122.204071, 94.603416, 27.600563, 123.567062, 96.111328, 27.455740)),
            v("4-leaky0.2-bn-fc", "4 layer, leaky(0.2), bn+, FC+", 4, l02, bn: true,
              (121.583725, 93.191528, 28.392277, 124.044975, 95.421844, 28.623117)),
            v("4-leaky0.2-fc", "4 layer, leaky(0.2), bn-, FC+", 4, l02, (122.732857, 93.825417, 28.907507, 121.664612, 92.834892, 28.829672)),
            v("4-relu-bn-fc", "4 layer, relu, bn+, FC+", 4, .relu, bn: true,
              (123.085167, 95.735008, 27.350178, 125.285271, 97.902130, 27.383146)),
            v("4-relu-fc", "4 layer, relu, bn-, FC+", 4, .relu, (120.019218, 93.494423, 26.524683, 119.368660, 92.944504, 26.424137)),
            v("5-leaky0.01-fc", "5 layer, leaky(0.01), bn-, FC+", 5, l001, (115.692749, 88.207474, 27.485247, 114.255844, 86.700783, 27.555090)),
            v("6-leaky0.01-fc", "6 layer, leaky(0.01), bn-, FC+ (chosen)", 6, l001,
              (113.717278, 86.138268, 27.578886, 112.770195, 85.135307, 27.634918)),
            v("8-leaky0.01-fc", "8 layer, leaky(0.01), bn-, FC+", 8, l001, (116.174988, 89.589226, 26.585693, 115.182693, 88.377838, 26.804855)),
        ]
    }()
}

struct Experiments: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the report's ten decoder/sampler variants and tabulate them.",
        discussion: """
        The report (CMPE 597 Project III) compared ten models. This trains each of
        them with the same data, epochs and seed(s), one after another, each by
        the code path of a plain `vae-train` run with its options:

        \(StudyVariant.report.map { "  " + $0.name.padding(toLength: 19, withPad: " ", startingAt: 0) + $0.reportName }.joined(separator: "\n"))

        N-ACT[-bn]-SAMPLER is vae-train --decoder-layers N --activation ACT
        (leaky0.01 = leaky-relu:0.01) [--batch-norm] --sampler SAMPLER; the
        report's FC+ is --sampler fc, FC- --sampler split, bn+ --batch-norm (the
        layer plans are in docs/training.md). Each run goes to
        OUT/VARIANT/seed-S/ with the files vae-train writes (latest.vaeckpt,
        best.vaeckpt, history.csv, loss.png, samples.png). Then:
          OUT/table.md        per variant, at the last epoch, per image:
                              training and validation total, reconstruction
                              and KL (mean over the seeds), the seeds' range
                              of the validation total, the report's own
                              validation total, the decoder's parameters and
                              multiply-adds per image
          OUT/results.csv     one row per run (variant, seed): those figures
                              and the best epoch's validation total
          OUT/validation.png  validation total per epoch, every variant

        Interrupted (Ctrl-C, a kill, a reboot)? Run the same command again:
        finished runs are skipped and a partial one resumes from its
        latest.vaeckpt, bit for bit as if never stopped. A larger --epochs
        later extends every run. Progress and the study's ETA go to stderr.

        Time: \(Experiments.timeNote)

        Examples:
          vae-train experiments --epochs 10 --out runs/experiments
          vae-train experiments --epochs 10 --seeds 1,2 --out runs/experiments
          vae-train experiments --epochs 2 --train-limit 6000 \\
                    --variants 4-relu-fc,4-relu-bn-fc --out /tmp/quick
        """)

    /// How long a study takes here (docs/experiments.md has the measured run).
    static let timeNote = "--epochs 10 --seeds 1,2 (20 runs) took 36 minutes on this\nmachine's 2 cores, shared with other work: 6 to 18 s an epoch, as the variant\nand the load decide."

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Epochs per run.")
    var epochs: Int

    @Option(help: "Output folder (one sub-folder per variant and seed, and the table).")
    var out: String

    @Option(help: "Comma-separated seeds; every variant is trained once per seed.")
    var seeds = "0"

    @Option(help: "Comma-separated variant names to train (default: all ten; names in the discussion above).")
    var variants: String?

    var seedList: [UInt64] { seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) } }

    var chosen: [StudyVariant] {
        guard let variants else { return StudyVariant.report }
        let names = Set(variants.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        return StudyVariant.report.filter { names.contains($0.name) }
    }

    func validate() throws {
        if epochs < 1 || epochs > 100_000 { throw ValidationError("--epochs must be between 1 and 100000 (got \(epochs))") }
        let parts = seeds.split(separator: ",", omittingEmptySubsequences: false)
        if parts.isEmpty || seedList.count != parts.count { throw ValidationError("--seeds must be comma-separated whole numbers (got '\(seeds)')") }
        if Set(seedList).count != seedList.count { throw ValidationError("--seeds names a seed twice ('\(seeds)')") }
        if let variants {
            let known = Set(StudyVariant.report.map(\.name))
            for n in variants.split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) where !known.contains(n) {
                throw ValidationError("--variants: '\(n)' is not one of \(StudyVariant.report.map(\.name).joined(separator: ", "))")
            }
        }
    }

    struct Run {
        var variant: StudyVariant
        var seed: UInt64
        var folder: String
        var latest: String { (folder as NSString).appendingPathComponent("latest.vaeckpt") }
    }

    func log(_ s: String) { FileHandle.standardError.write(Data(("vae-train experiments: " + s + "\n").utf8)) }

    func run() throws {
        let runs = chosen.flatMap { v in
            seedList.map { s in Run(variant: v, seed: s, folder: ((out as NSString).appendingPathComponent(v.name) as NSString).appendingPathComponent("seed-\(s)")) }
        }
        // What each run has done already: a finished run is skipped, a partial one resumed.
        var done: [Int] = []
        for r in runs {
            guard FileManager.default.fileExists(atPath: r.latest) else { done.append(0); continue }
            let st: TrainState
            do { st = try TrainState(checkpoint: r.latest) } catch { fail("\(error)") }
            guard st.config == r.variant.config, st.hyper.seed == r.seed else {
                fail("\(r.latest) holds another model or seed than \(r.variant.name), seed \(r.seed); move it away or choose another --out")
            }
            done.append(min(st.epoch, epochs))
        }
        // The ETA weighs each epoch left by its training work (the variants differ).
        let work = runs.map { flopsPerImage($0.variant.config, training: true) }
        var left = zip(runs.indices, done).map { Double(epochs - $1) * work[$0] }
        let started = Date()
        var workDone = 0.0
        log("\(runs.count) runs (\(chosen.count) variants x \(seedList.count) seeds), \(epochs) epochs each; \(done.filter { $0 >= epochs }.count) already finished")
        for (k, r) in runs.enumerated() where done[k] < epochs {
            let resuming = done[k] > 0
            let elapsed = Date().timeIntervalSince(started)
            let eta = workDone > 0 ? formatDuration(left.reduce(0, +) / (workDone / elapsed)) : "after the first run"
            log("run \(k + 1)/\(runs.count): \(r.variant.name) seed \(r.seed), epochs \(done[k] + 1)...\(epochs)\(resuming ? " (resumed)" : ""); study ETA \(eta)")
            var args = ["--epochs", "\(epochs)", "--out", r.folder, "--data", dataOptions.data, "--threads", "\(dataOptions.threads)"]
            if let n = dataOptions.trainLimit { args += ["--train-limit", "\(n)"] }
            if let n = dataOptions.valLimit { args += ["--val-limit", "\(n)"] }
            args += resuming ? ["--resume", r.latest] : r.variant.options + ["--seed", "\(r.seed)"]
            let t0 = Date()
            var train = try Train.parse(args)
            try train.run()
            let spent = Double(epochs - done[k]) * work[k]
            workDone += spent; left[k] = 0
            log(String(format: "run %d/%d done in %@", k + 1, runs.count, formatDuration(Date().timeIntervalSince(t0))))
        }
        try writeResults(runs)
        log("wrote \(out)/table.md, results.csv, validation.png (\(formatDuration(Date().timeIntervalSince(started))) in all)")
    }

    func writeResults(_ runs: [Run]) throws {
        var states: [String: [TrainState]] = [:]
        var csv = "variant,layers,activation,batch_norm,sampler,seed,epochs,train_rec,train_kl,train_total,val_rec,val_kl,val_total,best_epoch,best_val_total,decoder_params,decoder_macs,seconds\n"
        for r in runs {
            let st: TrainState
            do { st = try TrainState(checkpoint: r.latest) } catch { fail("\(error)") }
            states[r.variant.name, default: []].append(st)
            let last = st.history.last!, best = st.history.min { $0.valTotal < $1.valTotal }!
            let cost = r.variant.decoderCost
            let act = r.variant.options[3]
            csv += String(format: "%@,%d,%@,%d,%@,%llu,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%.4f,%d,%d,%.1f\n",
                          r.variant.name, r.variant.layers, act, r.variant.batchNorm ? 1 : 0, r.variant.sampler.option, r.seed, last.epoch,
                          last.trainRec, last.trainKL, last.trainTotal, last.valRec, last.valKL, last.valTotal, best.epoch, best.valTotal,
                          cost.params, cost.macs, st.history.map(\.seconds).reduce(0, +))
        }
        try AtomicFile.write(Array(csv.utf8), to: (out as NSString).appendingPathComponent("results.csv"))

        let first = states.values.first!.first!
        var md = "# The original report's variants, reproduced\n\n"
        md += "`vae-train experiments`: \(epochs) epoch\(epochs == 1 ? "" : "s") per run, seeds \(seedList.map(String.init).joined(separator: ", ")), "
        md += "\(first.imagesPerEpoch) training images per epoch, batch \(first.hyper.batch), lr \(first.hyper.lr). "
        md += "Figures per image at the last epoch, mean over the seeds; \"range\" is the seeds' spread (max - min) of the "
        md += "validation total. The report's own validation total is beside ours. Parameters and multiply-adds are the "
        md += "runtime decoder's (batch norm folded in).\n\n"
        md += "| variant | train total | train rec | train KL | val total | val rec | val KL | val range | report val total | decoder params | multiply-adds / image |\n"
        md += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        var plotSeries: [Series] = []
        for (i, v) in chosen.enumerated() {
            let sts = states[v.name]!
            let lasts = sts.map { $0.history.last! }
            func mean(_ f: (EpochRecord) -> Double) -> Double { lasts.map(f).reduce(0, +) / Double(lasts.count) }
            let vals = lasts.map(\.valTotal)
            let range = vals.count > 1 ? String(format: "%.2f", vals.max()! - vals.min()!) : "-"
            let cost = v.decoderCost
            md += String(format: "| %@ | %.2f | %.2f | %.2f | **%.2f** | %.2f | %.2f | %@ | %.2f | %@ | %@ |\n", v.reportName,
                         mean(\.trainTotal), mean(\.trainRec), mean(\.trainKL), mean(\.valTotal), mean(\.valRec), mean(\.valKL), range,
                         v.report.valTotal, grouped(cost.params), grouped(cost.macs))
            let n = sts.map(\.history.count).min()!
            let curve = (0..<n).map { e in sts.map { $0.history[e].valTotal }.reduce(0, +) / Double(sts.count) }
            plotSeries.append(Series(name: v.name, color: LinePlot.palette[i % LinePlot.palette.count], values: curve,
                                     dashed: i >= LinePlot.palette.count))
        }
        try AtomicFile.write(Array(md.utf8), to: (out as NSString).appendingPathComponent("table.md"))
        var panels = [Panel(title: "Validation total per image (mean over seeds)", xLabel: "epoch", yLabel: "nats", series: plotSeries)]
        // The first epochs are far above the rest and squash the curves: a second panel without them.
        if epochs >= 4 {
            panels.append(Panel(title: "From epoch 3", xLabel: "epoch", yLabel: "nats", series: plotSeries.map { s in
                var t = s; t.points = s.points.filter { $0.x >= 3 }; return t
            }))
        }
        let img = LinePlot.render(panels, width: 700 * panels.count, height: 520)
        try AtomicFile.write(PNG.encode(img), to: (out as NSString).appendingPathComponent("validation.png"))
    }

    func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.enumerated() { if i > 0 && (s.count - i) % 3 == 0 { out += "," }; out.append(ch) }
        return out
    }
}
