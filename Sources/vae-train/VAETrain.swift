import ArgumentParser
import Foundation
import ToolSupport

@main
struct VAETrain: ParsableCommand {
    /// Refuses repeated options and negative numbers with the real reason (ArgumentCheck)
    /// before the parser, which would take "-1" for an option.
    static func main() {
        ArgumentCheck.exitOnProblem(tool: "vae-train", CommandLine.arguments)
        main(nil)
    }

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
          loss.png        loss and KL term over the epochs, with the original
                          report's best (112.77) as a dashed line from epoch \(ReportReference.minEpochs)
                          on when validating on all of MNIST's test set (known
                          by its SHA-256, not by its file names)
          samples.png     64 digits from fixed latents, refreshed every epoch

        The data is read from --data (default data/mnist, inside the repository
        and ignored by git): the MNIST IDX files, gzip-compressed or plain.

        Examples:
          vae-train --epochs 20 --out runs/mnist
          vae-train --epochs 40 --out runs/mnist \\
                    --resume runs/mnist/latest.vaeckpt
          vae-train experiments --epochs 10 --out runs/experiments
                                           the report's ten variants, one table
          vae-train bench --images 12800
          vae-train fit-priors --checkpoint C --data DIR   class priors for vae-gen --digit
          vae-train hit-rate --checkpoint C --data DIR     how often --digit D draws a D

        A resumed run gives the same weights, bit for bit, as an uninterrupted
        one with the same seed (docs/training.md). Options of the default
        subcommand: vae-train help train
        """,
        subcommands: [Train.self, Experiments.self, Bench.self, Plot.self, MakeGoldens.self, Quantise.self, PCA.self, FitPriors.self, HitRate.self],
        defaultSubcommand: Train.self)
}
