import Foundation

/// torch.optim.Adam's update (no weight decay, no amsgrad) for elements `range` at step `step`
/// (1-based), in the order of operations the trainer's bits depend on. The trainer's step and
/// the quantisation-aware fine-tuning both call this one copy.
@inline(__always)
func adamUpdate(params p: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                grad g: UnsafePointer<Float>, range: Range<Int>, step: UInt64, hyper h: Hyper) {
    let t = Double(step)
    let bc1 = 1 - Foundation.pow(h.beta1, t)
    let bc2 = 1 - Foundation.pow(h.beta2, t)
    let stepSize = Float(h.lr / bc1)
    let bc2Sqrt = Float(bc2.squareRoot())
    let b1 = Float(h.beta1), b2 = Float(h.beta2), eps = Float(h.eps)
    for i in range {
        let gi = g[i]
        m[i] = b1 * m[i] + (1 - b1) * gi
        v[i] = b2 * v[i] + (1 - b2) * gi * gi
        let denom = v[i].squareRoot() / bc2Sqrt + eps
        p[i] -= stepSize * (m[i] / denom)
    }
}
