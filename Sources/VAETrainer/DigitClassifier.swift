import Foundation

/// A multinomial logistic regression on the 784 pixels (scaled to [0, 1]): the yardstick that
/// says which digit a generated image shows. Deliberately small and host-only; its own test
/// accuracy is reported beside every hit rate measured with it. Trained by plain SGD in a fixed
/// order with a fixed seed, so the same data gives the same classifier.
public struct DigitClassifier {
    public var w: [Float]   // [10][785], the last column the bias
    static let inputs = 785

    public init(train: ImageSet, labels: [UInt8], epochs: Int = 5, lr: Float = 0.05, seed: UInt64 = 1) {
        w = [Float](repeating: 0, count: 10 * DigitClassifier.inputs)
        var rng = Xoshiro256(seed: seed)
        var order = Array(0..<train.count)
        let P = train.rows * train.cols
        var x = [Float](repeating: 0, count: DigitClassifier.inputs)
        for e in 0..<epochs {
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            let rate = lr / Float(1 + e)
            for idx in order {
                for p in 0..<P { x[p] = Float(train.pixels[idx * P + p]) / 255 }
                x[P] = 1
                let prob = probabilities(x)
                for c in 0..<10 {
                    let g = rate * (prob[c] - (Int(labels[idx]) == c ? 1 : 0))
                    if g == 0 { continue }
                    let row = c * DigitClassifier.inputs
                    for p in 0...P { w[row + p] -= g * x[p] }
                }
            }
        }
    }

    func probabilities(_ x: [Float]) -> [Float] {
        var z = [Float](repeating: 0, count: 10)
        for c in 0..<10 {
            var s: Float = 0
            let row = c * DigitClassifier.inputs
            for p in 0..<DigitClassifier.inputs { s += w[row + p] * x[p] }
            z[c] = s
        }
        let m = z.max()!
        let e = z.map { Foundation.exp($0 - m) }
        let t = e.reduce(0, +)
        return e.map { $0 / t }
    }

    /// The most probable digit of 784 8-bit pixels.
    public func classify(_ pixels: ArraySlice<UInt8>) -> Int {
        var x = pixels.map { Float($0) / 255 }
        x.append(1)
        let p = probabilities(x)
        return p.indices.max { p[$0] < p[$1] }!
    }

    public func accuracy(_ set: ImageSet, labels: [UInt8]) -> Double {
        let P = set.rows * set.cols
        var hits = 0
        for i in 0..<set.count where classify(set.pixels[(i * P)..<((i + 1) * P)]) == Int(labels[i]) { hits += 1 }
        return Double(hits) / Double(set.count)
    }
}
