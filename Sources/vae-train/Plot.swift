import ArgumentParser
import Foundation
import VAETrainer

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw loss.png from the history stored in a checkpoint.",
        discussion: """
        The original report's best validation total (112.77) is drawn as a dashed line
        \(ReportReference.ruleForHelp). A checkpoint does not record its data, so the
        line needs --data naming the folder the run was validated on; without it the
        line is left out.
        Example: vae-train plot --checkpoint runs/mnist/latest.vaeckpt --data data/mnist --out loss.png
        """)

    @Option(help: "Checkpoint whose history to plot.") var checkpoint: String
    @Option(help: "PNG to write.") var out = "loss.png"
    @Option(help: "Data folder the run was validated on (only to decide the reference line).") var data: String?
    @Option(help: "The run's --val-limit, if it had one (a subset is not MNIST's test set).") var valLimit: Int?

    func run() throws {
        do {
            let s = try TrainState(checkpoint: checkpoint)
            guard !s.history.isEmpty else { fail("\(checkpoint) holds no history to plot") }
            var mnist = false
            if let data {
                let test = try MNIST.loadFolder(data).test
                mnist = ReportReference.isMNISTTestSet(valLimit.map { test.prefix($0) } ?? test)
            }
            try writeLossPlot(s.history, mnistValidation: mnist, to: out)
            let line = ReportReference.applies(mnistValidation: mnist, history: s.history) ? ", with the report's 112.77 line" : ""
            print("vae-train: wrote \(out) (\(s.history.count) epochs\(line))")
        } catch { fail("\(error)") }
    }
}
