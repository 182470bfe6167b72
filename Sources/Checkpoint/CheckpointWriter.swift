#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ToolSupport
import VAEDecoder

public enum CheckpointWriter {
    /// The whole file, as bytes.
    public static func encode(_ c: CheckpointContents) -> [UInt8] {
        let layout = ParamLayout(c.config)
        precondition(c.params.count == layout.total, "parameter count does not match the config")
        var tensors: [TensorEntry] = []

        // ENC: encoder tensors in layout order, 16-byte aligned.
        var enc = ByteWriter()
        for e in layout.entries where !e.isDecoder && !e.isBatchNorm {
            enc.align(16)
            tensors.append(TensorEntry(section: SectionTag.encoder, dtype: .f32, name: e.name, shape: e.shape,
                                       offset: enc.bytes.count, byteLength: e.count * 4))
            enc.floats(Array(c.params[e.offset..<(e.offset + e.count)]))
        }
        // DEC: the decoder image (batch norm folded in: the runtime never sees it).
        precondition(c.batchNormRunning.count == layout.runningTotal, "running statistics do not match the config")
        let dec = DecoderImageBuilder.build(c.config) { name in
            BatchNormFold.decoderTensor(c.config, params: c.params, running: c.batchNormRunning, name: name)
        }
        let offs = DecoderImageBuilder.offsets(c.config)
        for (i, _) in c.config.layers.enumerated() {
            for (suffix, off) in [("weight", offs[i].weight), ("bias", offs[i].bias)] {
                let e = layout.entry(named: "convs.\(i).\(suffix)")!
                tensors.append(TensorEntry(section: SectionTag.decoder, dtype: .f32, name: e.name, shape: e.shape,
                                           offset: off, byteLength: e.count * 4))
            }
        }
        var sections: [(tag: UInt32, flags: UInt32, raw: [UInt8])] = [(SectionTag.encoder, 1, enc.bytes), (SectionTag.decoder, 1, dec)]
        // NORM: what training needs and the folded image lost (1.8).
        var norm = ByteWriter()
        if c.config.batchNorm {
            for t in BatchNormSection.tensors(c.config) {
                norm.align(16)
                tensors.append(TensorEntry(section: SectionTag.batchNorm, dtype: .f32, name: t.name, shape: t.shape,
                                           offset: norm.bytes.count, byteLength: t.shape.reduce(1, *) * 4))
                norm.floats(Array((t.running ? c.batchNormRunning : c.params)[t.offset...].prefix(t.shape.reduce(1, *))))
            }
        }

        if let t = c.training {
            var opt = ByteWriter()
            opt.u32(128); opt.u32(t.epochsCompleted); opt.u64(t.steps)
            opt.u32(t.batchSize); opt.u32(t.shardsPerBatch)
            opt.f64(t.lr); opt.f64(t.beta1); opt.f64(t.beta2); opt.f64(t.eps)
            opt.u64(t.seed)
            for w in t.rng { opt.u64(w) }
            opt.u64(UInt64(t.imagesPerEpoch))
            while opt.bytes.count < 128 { opt.u8(0) }
            for (prefix, values) in [("adam.m.", t.adamM), ("adam.v.", t.adamV)] {
                for e in layout.entries {
                    opt.align(16)
                    tensors.append(TensorEntry(section: SectionTag.optimizer, dtype: .f32, name: prefix + e.name, shape: e.shape,
                                               offset: opt.bytes.count, byteLength: e.count * 4))
                    opt.floats(Array(values[e.offset..<(e.offset + e.count)]))
                }
            }
            sections.append((SectionTag.optimizer, 0, opt.bytes))
        }
        var hist = ByteWriter()
        hist.u32(c.history.count); hist.u32(8)
        for row in c.history { for v in row.prefix(8) { hist.f64(v) }; for _ in row.count..<8 { hist.f64(0) } }
        sections.append((SectionTag.history, 0, hist.bytes))
        if c.config.batchNorm { sections.append((SectionTag.batchNorm, 0, norm.bytes)) }
        // Last, and non-critical: a v1.0 reader skips it and sees the file it always saw.
        if let d8 = c.int8DecoderImage { sections.append((SectionTag.decoderInt8, 0, d8)) }
        if let p = c.classPriors { sections.append((SectionTag.classPriors, 0, p.encode())) }

        let stored = sections.map { Zlib.compress($0.raw) }

        // Header, with section offsets filled in once its length is known.
        func header(offsets: [Int]) -> [UInt8] {
            var h = ByteWriter()
            h.bytes.append(contentsOf: CheckpointFormat.magic)
            h.u16(CheckpointFormat.major); h.u16(CheckpointFormat.minor(for: c.config))
            h.u32(0)  // H, patched
            // Architecture block.
            let cfg = c.config
            let archStart = h.bytes.count
            h.u32(0)
            h.u32(cfg.imageSize); h.u32(cfg.imageSize)
            h.u32(1); h.u32(cfg.imageSize); h.u32(cfg.hidden); h.u32(cfg.imageSize); h.u32(1)
            h.u32(cfg.sampler.rawValue); h.u32(cfg.latent)
            h.u32(cfg.view.c); h.u32(cfg.view.h); h.u32(cfg.view.w)
            h.u32(cfg.layers.count); h.u32(cfg.batchNorm ? 1 : 0); h.u32(0)
            for l in cfg.layers {
                h.u32(1); h.u32(l.inChannels); h.u32(l.outChannels); h.u32(l.kernel); h.u32(l.kernel)
                h.u32(1); h.u32(0); h.u32(l.activation.rawValue); h.f32(l.slope)
            }
            h.patchU32(at: archStart, UInt32(h.bytes.count - archStart))
            // Section table.
            h.u32(sections.count)
            for (i, s) in sections.enumerated() {
                h.u32(s.tag); h.u32(s.flags)
                h.u64(UInt64(offsets[i])); h.u64(UInt64(stored[i].count)); h.u64(UInt64(s.raw.count))
                h.u32(Zlib.crc32(stored[i])); h.u32(Zlib.crc32(s.raw))
            }
            // Tensor table.
            h.u32(tensors.count)
            for t in tensors {
                h.u32(t.section); h.u8(t.dtype.rawValue); h.u8(UInt8(t.shape.count))
                let name = Array(t.name.utf8)
                h.u16(UInt16(name.count)); h.bytes.append(contentsOf: name)
                for d in t.shape { h.u32(d) }
                h.u64(UInt64(t.offset)); h.u64(UInt64(t.byteLength))
            }
            h.patchU32(at: 12, UInt32(h.bytes.count + 4))
            h.u32(Zlib.crc32(h.bytes))
            return h.bytes
        }
        let hlen = header(offsets: Array(repeating: 0, count: sections.count)).count
        var offsets: [Int] = []
        var pos = hlen
        for s in stored { offsets.append(pos); pos += s.count }
        var file = header(offsets: offsets)
        for s in stored { file.append(contentsOf: s) }
        return file
    }

    /// Writes atomically: a crash or a full disk leaves the previous file untouched.
    public static func write(_ c: CheckpointContents, to path: String) throws {
        try AtomicFile.write(encode(c), to: path)
    }
}

/// Temp file in the same folder, fsync, rename, fsync the folder (docs/checkpoint-format.md 1.6).
/// `durable: false` skips the two fsyncs: the rename still never leaves a half file over a good
/// one if the process dies, but a power cut may lose the new file (vae-gen's pictures, which a
/// rerun makes again; about a millisecond of its start-to-exit time). Checkpoints stay durable.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, durable: Bool = true) throws {
        let dir = Path.dirname(path)
        let tmp = Path.join(dir, ".\(Path.basename(path)).tmp-\(getpid())")
        func fail(_ what: String, _ e: Int32) -> CheckpointError {
            CheckpointError(path: path, problem: "\(what): \(String(cString: strerror(e)))\(advice(e)); no partial file is left, and the previous file, if any, is untouched")
        }
        removeStaleTemporaries(of: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw fail("cannot create a temporary file in \(dir)", errno) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        var written = 0
        let wrote = bytes.withUnsafeBytes { b -> Int32 in
            while written < b.count {
                let n = posixWrite(fd, b.baseAddress! + written, b.count - written)
                if n < 0 { if errno == EINTR { continue }; return errno }
                written += n
            }
            return 0
        }
        if wrote != 0 { close(fd); throw fail("write failed", wrote) }
        if durable && fsync(fd) != 0 { let e = errno; close(fd); throw fail("fsync failed", e) }
        if close(fd) != 0 { throw fail("close failed", errno) }
        if rename(tmp, path) != 0 { throw fail("rename into place failed", errno) }
        ok = true
        guard durable else { return }
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}

extension AtomicFile {
    /// What to do about the errors a write meets in the field (a full disk, a quota, a
    /// `ulimit -f`, a read-only mount), after strerror's words.
    static func advice(_ e: Int32) -> String {
        switch e {
        case ENOSPC, EDQUOT: return " (the disk is full: free some space, or write somewhere else)"
        case EFBIG: return " (the file is larger than this process may write: see ulimit -f)"
        case EROFS: return " (the file system is mounted read-only: write somewhere else)"
        case EACCES, EPERM: return " (no permission to write there: write somewhere else)"
        default: return ""
        }
    }

    /// Removes `.NAME.tmp-PID` files beside `path` whose process is gone: what a kill (or a
    /// power cut) during an earlier write left. A live writer's temporary (kill(pid, 0)
    /// succeeds, or says EPERM: another user's process) is left alone. Returns how many went.
    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> Int {
        let dir = Path.dirname(path)
        let prefix = ".\(Path.basename(path)).tmp-"
        guard let d = opendir(dir) else { return 0 }
        defer { closedir(d) }
        var removed = 0
        while let e = readdir(d) {
            // The name in place, up to its NUL: readdir's entry is only as long as its name
            // (d_reclen), so copying the struct (e.pointee) read up to 256 bytes past it
            // (AddressSanitizer: heap-buffer-overflow, found by the suite's sanitizer stage).
            let name = String(cString: (UnsafeRawPointer(e) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!).assumingMemoryBound(to: CChar.self))
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count)), pid > 0 else { continue }
            if pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH { continue }
            if unlink(Path.join(dir, name)) == 0 { removed += 1 }
        }
        return removed
    }
}

/// write(2) by its module's name: the type `AtomicFile` has a `write` of its own.
@inline(__always)
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

/// Section NORM's tensors (docs/checkpoint-format.md 1.8), in the order the writer packs them.
enum BatchNormSection {
    struct Tensor { var name: String; var shape: [Int]; var offset: Int; var running: Bool }

    /// For every layer, the convolution before folding (`unfolded.convs.K.*`, the trainer's
    /// parameters), then for every normalised layer `bns.K.weight`, `bias`, `running_mean`,
    /// `running_var` (PyTorch's BatchNorm2d names).
    static func tensors(_ c: ModelConfig) -> [Tensor] {
        let lay = ParamLayout(c)
        var r: [Tensor] = []
        for e in lay.entries where e.isDecoder { r.append(Tensor(name: "unfolded." + e.name, shape: e.shape, offset: e.offset, running: false)) }
        for (j, i) in c.normalisedLayers.enumerated() {
            let n = c.layers[i].outChannels
            r.append(Tensor(name: "bns.\(i).weight", shape: [n], offset: lay.bnW[j], running: false))
            r.append(Tensor(name: "bns.\(i).bias", shape: [n], offset: lay.bnB[j], running: false))
            r.append(Tensor(name: "bns.\(i).running_mean", shape: [n], offset: lay.running[j], running: true))
            r.append(Tensor(name: "bns.\(i).running_var", shape: [n], offset: lay.running[j] + n, running: true))
        }
        return r
    }

    /// Where a model-list tensor is stored: batch-norm models keep their convolutions unfolded
    /// in NORM (DEC holds the folded ones), and bns.* there too.
    static func stored(_ e: ParamLayout.Entry, _ c: ModelConfig) -> (name: String, section: UInt32) {
        if e.isBatchNorm { return (e.name, SectionTag.batchNorm) }
        if e.isDecoder { return c.batchNorm ? ("unfolded." + e.name, SectionTag.batchNorm) : (e.name, SectionTag.decoder) }
        return (e.name, SectionTag.encoder)
    }
}
