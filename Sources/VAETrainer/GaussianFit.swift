import Checkpoint

/// One Gaussian per class over latent vectors, in Double: the mean and either the standard
/// deviations (diagonal) or the lower Cholesky factor of the covariance (full). The covariance
/// is the maximum-likelihood one (divided by n) plus `ridge` on its diagonal, which keeps the
/// factor defined when a class's latents span fewer than all dimensions.
public enum GaussianFit {
    public static func fit(latents: [[Float]], labels: [UInt8], classes: Int, kind: ClassPriors.Kind, ridge: Double = 1e-4) -> ClassPriors {
        let d = latents.first?.count ?? 0
        var counts: [Int] = [], means: [[Float]] = [], scales: [[Float]] = []
        for c in 0..<classes {
            let rows = zip(latents, labels).filter { Int($0.1) == c }.map { $0.0.map(Double.init) }
            let n = Double(max(rows.count, 1))
            var m = [Double](repeating: 0, count: d)
            for r in rows { for j in 0..<d { m[j] += r[j] } }
            for j in 0..<d { m[j] /= n }
            var cov = [Double](repeating: 0, count: d * d)
            for r in rows {
                for j in 0..<d {
                    let a = r[j] - m[j]
                    for k in 0...j { cov[j * d + k] += a * (r[k] - m[k]) }
                }
            }
            for j in 0..<d { for k in 0...j { cov[j * d + k] /= n }; cov[j * d + j] += ridge }
            counts.append(rows.count); means.append(m.map { Float($0) })
            switch kind {
            case .diagonal: scales.append((0..<d).map { Float(cov[$0 * d + $0].squareRoot()) })
            case .full: scales.append(cholesky(cov, d).map { Float($0) })
            }
        }
        return ClassPriors(kind: kind, latent: d, counts: counts, means: means, scales: scales)
    }

    /// Lower factor of a symmetric positive definite matrix (lower triangle of `a` used), as the
    /// packed row-major lower triangle.
    static func cholesky(_ a: [Double], _ d: Int) -> [Double] {
        var l = [Double](repeating: 0, count: d * d)
        for j in 0..<d {
            for k in 0...j {
                var s = a[j * d + k]
                for t in 0..<k { s -= l[j * d + t] * l[k * d + t] }
                l[j * d + k] = j == k ? max(s, 1e-12).squareRoot() : s / l[k * d + k]
            }
        }
        var packed: [Double] = []
        for j in 0..<d { for k in 0...j { packed.append(l[j * d + k]) } }
        return packed
    }
}
