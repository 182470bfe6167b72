import Checkpoint
import Dispatch

extension MNIST {
    /// An IDX1 labels file (gzip or plain), checked against the image count it must match.
    public static func loadLabels(_ path: String, count: Int) throws -> [UInt8] {
        let b = try readMaybeGzip(path)
        guard b.count >= 8, b[0] == 0, b[1] == 0, b[2] == 0x08, b[3] == 1 else {
            throw DataError(path: path, problem: "not an IDX labels file (magic must be 00 00 08 01)")
        }
        let n = Int(b[4]) << 24 | Int(b[5]) << 16 | Int(b[6]) << 8 | Int(b[7])
        guard b.count == 8 + n else { throw DataError(path: path, problem: "the header says \(n) labels, the file holds \(b.count - 8)") }
        guard n == count else { throw DataError(path: path, problem: "\(n) labels for \(count) images") }
        let l = Array(b[8...])
        if let bad = l.firstIndex(where: { $0 > 9 }) { throw DataError(path: path, problem: "label \(bad) is \(l[bad]), not a digit 0 ... 9") }
        return l
    }
}

/// The encoder's mean latent of every image (no sampling), 16 images a shard, on `threads`
/// threads: what the class priors are fitted from.
public enum LatentMeans {
    public static func compute(config: ModelConfig, params: [Float], images: ImageSet, threads: Int = 2) -> [[Float]] {
        let L = config.latent, P = images.rows * images.cols
        let chunks = (images.count + laneCount - 1) / laneCount
        var out = [[Float]](repeating: [], count: images.count)
        let workers = max(1, min(threads, chunks))
        let lock = DispatchQueue(label: "latent-means")
        params.withUnsafeBufferPointer { pp in
            images.pixels.withUnsafeBufferPointer { px in
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let sh = Shard<Float>(config: config)
                    sh.setNoise { _, _ in 0 }
                    var c = w
                    while c < chunks {
                        let first = c * laneCount, n = min(laneCount, images.count - first)
                        sh.setImages({ lane, p in Float(px[(first + lane) * P + p]) / 255 }, count: n)
                        sh.forward(pp.baseAddress!)
                        let rows = (0..<n).map { lane in (0..<L).map { sh.mu[$0][lane] } }
                        lock.sync { for i in 0..<n { out[first + i] = rows[i] } }
                        c += workers
                    }
                }
            }
        }
        return out
    }
}
