import Checkpoint
import Foundation

extension TrainState {
    public var checkpointContents: CheckpointContents {
        let block = TrainingBlock(
            epochsCompleted: epoch, steps: step, batchSize: hyper.batch,
            shardsPerBatch: (hyper.batch + laneCount - 1) / laneCount,
            lr: hyper.lr, beta1: hyper.beta1, beta2: hyper.beta2, eps: hyper.eps, seed: hyper.seed,
            rng: [rng.s.0, rng.s.1, rng.s.2, rng.s.3], imagesPerEpoch: imagesPerEpoch, adamM: adamM, adamV: adamV)
        return CheckpointContents(config: config, params: params, training: block, history: history.map {
            [Double($0.epoch), $0.seconds, $0.trainRec, $0.trainKL, $0.trainTotal, $0.valRec, $0.valKL, $0.valTotal]
        }, batchNormRunning: running)
    }

    public func save(to path: String) throws { try CheckpointWriter.write(checkpointContents, to: path) }

    /// Restores a run from a checkpoint written by `save`.
    public init(checkpoint path: String) throws {
        let c = try CheckpointReader.read(path)
        guard let t = c.training else {
            throw CheckpointError(path: path, problem: "holds no training state (an inference-only checkpoint cannot be resumed)")
        }
        guard t.rng.count == 4 else { throw CheckpointError(path: path, problem: "RNG state is not 4 words") }
        var h = Hyper()
        h.lr = t.lr; h.beta1 = t.beta1; h.beta2 = t.beta2; h.eps = t.eps; h.batch = t.batchSize; h.seed = t.seed
        guard h.batch >= 1, h.batch <= 1 << 16 else { throw CheckpointError(path: path, problem: "batch size \(h.batch) is out of range") }
        self.init(config: c.config, hyper: h)
        params = c.params
        running = c.batchNormRunning
        adamM = t.adamM; adamV = t.adamV
        step = t.steps; epoch = t.epochsCompleted
        rng = Xoshiro256(state: (t.rng[0], t.rng[1], t.rng[2], t.rng[3]))
        imagesPerEpoch = t.imagesPerEpoch
        history = c.history.map {
            EpochRecord(epoch: Int($0[0]), seconds: $0[1], trainRec: $0[2], trainKL: $0[3], valRec: $0[5], valKL: $0[6])
        }
    }
}
