import ArgumentParser
import Checkpoint
import Foundation
import VAEDecoder
import VAETrainer

enum WidthChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, int8, int16
}

enum RangeChoice: String, ExpressibleByArgument, CaseIterable {
    case minmax, mse
}

enum RoundingChoice: String, ExpressibleByArgument, CaseIterable {
    case nearest, outputError = "output-error"
}

struct Quantise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantise",
        abstract: "Make the int8 decoder (docs/quantisation.md) in the checkpoint.",
        discussion: """
        The int8 decoder runs in integers only: int8 weights (one scale per output
        channel), int32 biases and accumulators, and activations stored as int8
        (asymmetric, with a zero point) or int16 (symmetric), one width per hidden
        layer's output. The last layer turns its accumulator straight into the
        8-bit pixel with 255 thresholds per channel.

        What it does:
          1. calibration: the encoder's means of the first 2,000 training images
             (--data) and the latents of seeds 0 and 1, images 0..<1000, through
             the float decoder give the range of every activation;
          2. the integers of docs/quantisation.md section 6 for each candidate
             width configuration: weights rounded so as to minimise each layer's
             output error (--rounding), int8 ranges clipped where the squared
             quantisation error is least (--int8-ranges); then the bias
             correction: each channel's bias moved by the mean error of its
             pre-activation over 1,000 of the calibration latents
             (--no-bias-correction: plain rounding);
          3. with --qat-epochs N, quantisation-aware fine-tuning of the chosen
             configuration (section 7): a copy of the decoder learns, through
             fake-quantised weights and activations, to make the float32
             decoder's pixels; the int8 decoder is exported from it;
          4. fidelity against the float32 decoder of the same checkpoint on
             1,000 seeded latents (seed 2026, images 0..<1000): PSNR over the
             8-bit pixels and the largest pixel difference; and the validation
             total (BCE + KL per test image, z sampled as the checkpoint's last
             validation sampled it) with the reconstruction decoded through the
             int8 decoder, beside the float32 one;
          5. writes the checkpoint with the int8 image as its DEC8 section,
             atomically; the other sections are kept byte for byte (checked
             before anything is written).

        It prints progress with elapsed seconds as it goes: 1-2 minutes on two
        cores, about 30 s more per QAT epoch.

        --widths int8 makes every hidden output int8 (smallest, least faithful),
        int16 every one; auto starts from all-int16 and makes outputs int8 one at
        a time, the one that costs the least PSNR first, while the PSNR stays at
        or above --min-psnr.

        Examples:
          vae-train quantise --checkpoint checkpoints/vae-mnist.vaeckpt \\
                             --data data/mnist
          vae-train quantise --checkpoint run/best.vaeckpt --data data/mnist \\
                             --widths int8 --out run/best-int8.vaeckpt \\
                             --export run/decoder-int8.vaed
          vae-train quantise --checkpoint checkpoints/vae-mnist.vaeckpt \
                             --data data/mnist --widths int8 --qat-epochs 3 \
                             --out /tmp/qat.vaeckpt --export qat.vaed
        Then vae-train make-goldens writes the int8 goldens (from the trainer's
        reference), and vae-gen --precision int8 runs the decoder.
        """)

    @Option(help: "Checkpoint to quantise.")
    var checkpoint: String

    @Option(help: "Folder with the MNIST IDX files (calibration uses the training images, the validation total the test images).")
    var data = MNIST.defaultFolder

    @Option(help: "Widths of the hidden outputs: auto, int8 or int16.")
    var widths: WidthChoice = .auto

    @Option(help: "With --widths auto: the lowest PSNR (dB, against the float32 decoder) a configuration may have.")
    var minPsnr = 40.0

    @Option(help: "Checkpoint to write (default: over --checkpoint).")
    var out: String?

    @Option(help: "Also write the int8 decoder image alone to this file (.vaed), as vae-gen export-decoder does for float32.")
    var export: String?

    @Option(help: "How weights are rounded to int8: nearest, or output-error (each layer's output error over the calibration latents, docs/quantisation.md section 6, step 2).")
    var rounding: RoundingChoice = .outputError

    @Option(help: "Range of an int8 tensor: minmax (the calibration values' full range) or mse (the upper end that gives the smallest mean squared quantisation error, docs/quantisation.md section 6, step 3). int16 tensors always take the full range.")
    var int8Ranges: RangeChoice = .mse

    @Option(help: "Quantisation-aware fine-tuning after the widths are chosen: epochs of 1,000 steps of 32 latents, each step teaching a fake-quantised copy of the decoder to make the float32 decoder's pixels (docs/quantisation.md section 7). 0: none. The checkpoint's float32 decoder is kept; only the int8 decoder comes from the fine-tuned weights.")
    var qatEpochs = 0

    @Option(help: "Adam learning rate of the fine-tuning.")
    var qatLr = 3e-5

    @Flag(help: "Plain rounding only: no bias correction.")
    var noBiasCorrection = false

    @Option(help: "Use only the first N test images for the validation totals (quick runs).")
    var valLimit: Int?

    @Option(help: "Worker threads. Results do not depend on it.")
    var threads = 2

    func validate() throws {
        if !(minPsnr.isFinite && minPsnr > 0) { throw ValidationError("--min-psnr must be a positive number of dB (got \(minPsnr))") }
        if threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256 (got \(threads))") }
        if let n = valLimit, n < 1 { throw ValidationError("--val-limit must be at least 1 (got \(n))") }
        if qatEpochs < 0 || qatEpochs > 1000 { throw ValidationError("--qat-epochs must be between 0 and 1000 (got \(qatEpochs))") }
        if !(qatLr.isFinite && qatLr > 0 && qatLr < 1) { throw ValidationError("--qat-lr must be a number between 0 and 1 (got \(qatLr))") }
    }

    struct Row {
        var name: String
        var export: Quantiser.Export
        var fidelity: Quantiser.Fidelity
        var valTotal = Double.nan
    }

    func run() throws {
        let target = out ?? checkpoint
        let ck: CheckpointContents
        let original: [UInt32: [UInt8]]
        let sets: (train: ImageSet, test: ImageSet)
        do {
            ck = try CheckpointReader.read(checkpoint)
            original = try CheckpointReader.rawSections(checkpoint)
            sets = try MNIST.loadFolder(data)
        } catch { fail("\(error)") }
        let test = valLimit.map { sets.test.prefix($0) } ?? sets.test
        let start = Date()
        func log(_ s: String) {
            FileHandle.standardError.write(Data((String(format: "[%5.1fs] ", Date().timeIntervalSince(start)) + s + "\n").utf8))
        }
        if ck.config.batchNorm {
            fail("\(checkpoint) has a batch-norm decoder; quantise does not handle one yet (its fine-tuning would have to train through the folded convolutions)")
        }
        for (i, l) in ck.config.layers.enumerated() where l.activation == .leakyReLU && l.slope < 0 {
            fail("\(checkpoint): decoder layer \(i) has LeakyReLU slope \(l.slope); the int8 format has no negative slope (M_neg >= 0, docs/quantisation.md section 2), so this model cannot be quantised")
        }
        let q = Quantiser(config: ck.config, params: ck.params, threads: threads)
        let L = ck.config.layers.count

        log("calibration: encoder means of 2,000 training images, seeds 0 and 1 images 0..<1000")
        let calibration = q.calibrationLatents(training: sets.train)
        let correction = stride(from: 0, to: calibration.count, by: 4).map { calibration[$0] }   // 1,000, both sources
        var ranges = q.calibrate(calibration)
        if int8Ranges == .mse {
            ranges = q.mseClippedRanges(ranges, latents: correction)
            log("int8 ranges: upper ends by least squared error: " + ranges.dropFirst().map { String(format: "%.4g", $0.max) }.joined(separator: " "))
        }
        let fidelityLatents = TrainerDecoder.seededLatents(seed: 2026, count: 1000, latent: ck.config.latent)
        let reference = q.floatPixels(fidelityLatents)

        var rounded: Quantiser.RoundedWeights?
        if rounding == .outputError {
            log("weights: rounding by each layer's output error over 1,000 calibration latents")
            rounded = q.roundWeightsByOutputError(latents: correction)
        }
        func make(_ w: [Int], corrected: Bool) -> (Quantiser.Export, Quantiser.Fidelity) {
            var e = q.export(ranges: ranges, widths: w, rounded: rounded)
            if corrected { q.biasCorrect(&e, latents: correction) }
            return (e, Quantiser.fidelity(q.int8Pixels(e.decoder, fidelityLatents), reference))
        }
        func widthsText(_ w: [Int]) -> String { w.map { $0 == 1 ? "8" : "16" }.joined(separator: " ") }
        let corrected = !noBiasCorrection

        var rows: [Row] = []
        for (name, w) in [("all-int8", [Int](repeating: 1, count: L - 1)), ("all-int16", [Int](repeating: 2, count: L - 1))] {
            for c in [false, true] {
                let (e, f) = make(w, corrected: c)
                rows.append(Row(name: name + (c ? " +bias corr." : " (rounding)"), export: e, fidelity: f))
                log("\(rows.last!.name): PSNR \(String(format: "%.2f", f.psnr)) dB, max diff \(f.maxDiff)")
            }
        }
        // The configuration to keep.
        var chosen: [Int]
        switch widths {
        case .int8: chosen = [Int](repeating: 1, count: L - 1)
        case .int16: chosen = [Int](repeating: 2, count: L - 1)
        case .auto:
            chosen = [Int](repeating: 2, count: L - 1)
            while true {
                var best: (i: Int, f: Quantiser.Fidelity)?
                for i in 0..<(L - 1) where chosen[i] == 2 {
                    var w = chosen; w[i] = 1
                    let f = make(w, corrected: corrected).1
                    log("auto: widths \(widthsText(w)): PSNR \(String(format: "%.2f", f.psnr)) dB")
                    if best == nil || f.psnr > best!.f.psnr { best = (i, f) }
                }
                guard let b = best, b.f.psnr >= minPsnr else { break }
                chosen[b.i] = 1
            }
        }
        let (keep, keepFidelity) = make(chosen, corrected: corrected)
        if widths == .auto && keepFidelity.psnr < minPsnr {
            log("auto: even all-int16 stays below --min-psnr \(minPsnr) dB; keeping all-int16, the most faithful")
        }
        rows.append(Row(name: "chosen (\(widths.rawValue))" + (corrected ? " +bias corr." : " (rounding)"), export: keep, fidelity: keepFidelity))
        var written = keep
        if qatEpochs > 0 {
            log("QAT: encoder posteriors of 10,000 training images; \(qatEpochs) epochs of 1,000 steps x 32 latents, widths \(widthsText(chosen))")
            var o = QuantisationAwareTraining.Options()
            o.epochs = qatEpochs; o.lr = qatLr
            let qat = QuantisationAwareTraining(config: ck.config, params: ck.params, tensors: keep.tensors,
                                                posterior: q.encoderPosterior(sets.train.prefix(10000)), options: o,
                                                start: rounded)
            qat.run { r in
                log("QAT epoch \(r.epoch)/\(qatEpochs): fake-quantised decoder vs float32 \(String(format: "%.2f", r.psnr)) dB (probabilities), \(String(format: "%.1f", r.seconds)) s")
            }
            // Nearest rounding on the grid the weights were trained on; no bias correction: the
            // biases were trained through the integer path already.
            let tuned = Quantiser(config: ck.config, params: qat.params, threads: threads)
            let e = tuned.export(ranges: ranges, widths: chosen, rounded: qat.roundedWeights())
            let f = Quantiser.fidelity(tuned.int8Pixels(e.decoder, fidelityLatents), reference)
            log("chosen + QAT: PSNR \(String(format: "%.2f", f.psnr)) dB, max diff \(f.maxDiff)")
            rows.append(Row(name: "chosen + QAT (\(qatEpochs) ep.)", export: e, fidelity: f))
            written = e
        }

        // Validation totals: z sampled as the checkpoint's last validation did (Trainer.runEpoch's seed).
        let seed = ck.training.map { $0.seed ^ (0xA5A5_0000_0000_0000 | UInt64($0.epochsCompleted)) } ?? 0
        log("validation: \(test.count) test images")
        let v = q.validationSamples(test, noiseSeed: seed)
        let float32Total = v.floatRec + v.kl
        let float8Total = Quantiser.bce(targets: test, pixels: q.floatPixels(v.latents)) + v.kl
        for i in rows.indices {
            rows[i].valTotal = Quantiser.bce(targets: test, pixels: q.int8Pixels(rows[i].export.decoder, v.latents)) + v.kl
            log("validation \(rows[i].name): \(String(format: "%.3f", rows[i].valTotal))")
        }

        // The table.
        print("int8 decoder of \(checkpoint): fidelity against its float32 decoder")
        print("  PSNR and max diff: 1,000 seeded latents (seed 2026, images 0..<1000), 8-bit pixels, peak 255")
        print("  val total: BCE + KL per image over \(test.count) test images, int8 reconstruction (pixel/255, clamped to [1e-7, 1-1e-7])")
        print(String(format: "  float32 val total %.3f (probabilities as training computes them); float32 with 8-bit pixels %.3f", float32Total, float8Total))
        if let last = ck.history.last { print(String(format: "  (the checkpoint's history: val total %.3f at epoch %d)", last[7], Int(last[0]))) }
        print("")
        print("  " + "configuration".padding(toLength: 28, withPad: " ", startingAt: 0)
              + "widths (layer outputs 0-\(L - 2))".padding(toLength: 30, withPad: " ", startingAt: 0) + "PSNR dB  max diff  val total int8  float32")
        for r in rows {
            let w = r.export.decoder.layers.dropLast().map { $0.outputWidth == 1 ? "8" : "16" }.joined(separator: " ")
            print("  " + r.name.padding(toLength: 28, withPad: " ", startingAt: 0) + w.padding(toLength: 30, withPad: " ", startingAt: 0)
                  + String(format: "%7.2f  %8d  %14.3f  %7.3f", r.fidelity.psnr, r.fidelity.maxDiff, r.valTotal, float32Total))
        }
        print("")
        print("  per-layer formats (latent, then each hidden layer's output):")
        for r in rows {
            var parts = ["latent int16 qmax \(r.export.decoder.latentQmax)"]
            for (i, l) in r.export.decoder.layers.dropLast().enumerated() {
                parts.append(l.outputWidth == 1 ? "L\(i) int8 zp \(l.outputZeroPoint)" : "L\(i) int16 qmax \(l.outputQmax)")
            }
            let moved = r.export.correctedChannels.isEmpty ? "" : "; biases moved per layer: " + r.export.correctedChannels.map(String.init).joined(separator: " ")
            print("    " + r.name.padding(toLength: 28, withPad: " ", startingAt: 0) + parts.joined(separator: ", ") + moved)
        }

        // The checkpoint, with the other sections unchanged.
        let image = Int8ImageBuilder.build(written.decoder)
        var contents = ck
        contents.int8DecoderImage = image
        let bytes = CheckpointWriter.encode(contents)
        do {
            let written = try CheckpointReader.rawSections(bytes: bytes, path: target)
            for (tag, raw) in original where tag != SectionTag.decoderInt8 {
                guard written[tag] == raw else {
                    fail("\(checkpoint): section \(SectionTag.name(tag)) would not be kept byte for byte by a rewrite (written by another version?); nothing written. Use --out to write a new file and compare.")
                }
            }
            for tag in written.keys where tag != SectionTag.decoderInt8 && original[tag] == nil {
                fail("\(checkpoint): a rewrite would add section \(SectionTag.name(tag)); nothing written")
            }
            try AtomicFile.write(bytes, to: target)
            if let export { try AtomicFile.write(image, to: export) }
        } catch { fail("\(error)") }
        print("")
        print("vae-train: wrote \(target) with the int8 decoder (\(image.count) bytes, widths \(widthsText(chosen)))" + (export.map { " and \($0)" } ?? ""))
    }
}
