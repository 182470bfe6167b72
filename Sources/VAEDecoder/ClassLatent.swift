/// The seeded generator, conditioned on a class (docs/latent-generator.md, section 6): image i
/// of seed S for a class with mean m and scale L is z = m + L e, where e is exactly the latent
/// `fill(seed: S, image: i)` gives. Every product and sum is rounded to float32 on its own, in
/// ascending k, starting from m[j], so that every platform gets the same bits (no fused
/// multiply-add, no reassociation: this is not a hot loop). No heap: the caller owns `out`.
public enum ClassLatent {
    /// `scale` holds d standard deviations (`full == false`) or the lower Cholesky factor's
    /// d(d+1)/2 entries, row-major (`full == true`); `out` is d floats.
    public static func fill(seed: UInt64, image i: UInt64, latent d: Int, mean: UnsafePointer<Float>,
                            scale: UnsafePointer<Float>, full: Bool, into out: UnsafeMutablePointer<Float>) {
        // e first, into out; then rows from the last down, so that row j still reads e[0...j].
        LatentGenerator.fill(seed: seed, image: i, latent: d, into: out)
        var j = d - 1
        while j >= 0 {
            var acc = mean[j]
            if full {
                let row = scale + j * (j + 1) / 2
                var k = 0
                while k <= j { let p = row[k] * out[k]; acc = acc + p; k += 1 }
            } else {
                let p = scale[j] * out[j]; acc = acc + p
            }
            out[j] = acc
            j -= 1
        }
    }
}
