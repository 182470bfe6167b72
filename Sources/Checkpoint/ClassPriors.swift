#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Class-conditional Gaussians in latent space (section `PRIO`, docs/checkpoint-format.md 1.7):
/// one mean and one scale per class, fitted from the encoder's means over labelled images, so
/// that an unconditional model can be asked for a digit. `scale` is the standard deviations
/// (diagonal) or the lower Cholesky factor of the covariance, row-major lower triangle (full).
public struct ClassPriors: Equatable, Sendable {
    public enum Kind: UInt32, Sendable { case diagonal = 1, full = 2 }
    public var kind: Kind
    public var latent: Int
    public var counts: [Int]            // training images per class
    public var means: [[Float]]         // [class][latent]
    public var scales: [[Float]]        // [class][latent] or [class][latent * (latent + 1) / 2]

    public init(kind: Kind, latent: Int, counts: [Int], means: [[Float]], scales: [[Float]]) {
        self.kind = kind; self.latent = latent; self.counts = counts; self.means = means; self.scales = scales
    }

    public var classes: Int { means.count }
    public static func scaleCount(_ kind: Kind, latent d: Int) -> Int { kind == .diagonal ? d : d * (d + 1) / 2 }

    public static let blockLength = 32
    public static let version: UInt32 = 1

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u32(ClassPriors.blockLength); w.u32(Int(ClassPriors.version)); w.u32(classes); w.u32(latent)
        w.u32(Int(kind.rawValue)); w.u32(0); w.u32(0); w.u32(0)
        for c in 0..<classes { w.u32(counts[c]); w.floats(means[c]); w.floats(scales[c]) }
        return w.bytes
    }

    /// Every length and value checked: the block's own fields, the payload's exact size for the
    /// class count, latent size and kind, finite means, positive scale diagonals.
    public static func parse(_ b: [UInt8], latent expected: Int, path: String) throws -> ClassPriors {
        func fail(_ s: String) -> CheckpointError { CheckpointError(path: path, problem: "section \"PRIO\": " + s) }
        var r = ByteReader(b, path: path)
        let len = try r.int("class priors block length", max: b.count)
        guard len >= blockLength else { throw fail("block length \(len) is less than \(blockLength)") }
        let ver = try r.u32("class priors version")
        guard ver == version else { throw fail("version \(ver) is not supported (this build reads version \(version))") }
        let k = try r.int("class count", max: 256)
        guard k >= 1 else { throw fail("class count is 0") }
        let d = try r.int("latent dimension", max: 1 << 16)
        guard d == expected else { throw fail("latent dimension \(d) is not the architecture's \(expected)") }
        let kr = try r.u32("covariance kind")
        guard let kind = Kind(rawValue: kr) else { throw fail("covariance kind \(kr) is not 1 (diagonal) or 2 (full)") }
        let s = scaleCount(kind, latent: d)
        let need = len + k * (4 + 4 * d + 4 * s)
        guard b.count == need else { throw fail("payload is \(b.count) bytes; \(k) classes of \(kind) latent-\(d) Gaussians after a \(len)-byte block need \(need)") }
        r = ByteReader(b, from: len, path: path)
        var counts: [Int] = [], means: [[Float]] = [], scales: [[Float]] = []
        for c in 0..<k {
            counts.append(try r.int("class \(c) count", max: 1 << 30))
            var m: [Float] = [], sc: [Float] = []
            for _ in 0..<d { m.append(try r.f32("class \(c) mean")) }
            for _ in 0..<s { sc.append(try r.f32("class \(c) scale")) }
            guard m.allSatisfy(\.isFinite), sc.allSatisfy(\.isFinite) else { throw fail("class \(c): a mean or scale is NaN or infinite") }
            for j in 0..<d {
                let diag = kind == .diagonal ? sc[j] : sc[j * (j + 1) / 2 + j]
                guard diag > 0 else { throw fail("class \(c): scale diagonal \(j) is \(diag), not positive") }
            }
            means.append(m); scales.append(sc)
        }
        return ClassPriors(kind: kind, latent: d, counts: counts, means: means, scales: scales)
    }
}

extension CheckpointReader {
    /// The class priors of a checkpoint (header and that one section read), or a message saying
    /// how to make them.
    public static func readClassPriors(_ path: String) throws -> ClassPriors {
        let file = try PartialFile(path)
        let pre = try file.read(at: 0, count: min(16, file.size))
        var headerLength = pre.count
        if pre.count >= 16 {
            let h = Int(UInt32(pre[12]) | UInt32(pre[13]) << 8 | UInt32(pre[14]) << 16 | UInt32(pre[15]) << 24)
            headerLength = max(16, min(h, Limits.headerMax, file.size))
        }
        let h = try parseHeader(try file.read(at: 0, count: headerLength), path: path, fileSize: file.size)
        guard let s = h.sections.first(where: { $0.tag == SectionTag.classPriors }) else {
            throw CheckpointError(path: path, problem: "no class priors in \(path) (it has no \"PRIO\" section); fit them with `vae-train fit-priors --checkpoint \(path) --data DIR`")
        }
        let raw = try inflate(stored: ArraySlice(try file.read(at: s.offset, count: s.stored)), s, path: path)
        return try ClassPriors.parse(raw, latent: h.config.latent, path: path)
    }
}
