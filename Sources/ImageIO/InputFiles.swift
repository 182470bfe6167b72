import CZlib
import ToolSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading input files whole: IDX (gzip or plain), PNG and PGM chosen by their first bytes, not
/// by their names, so a renamed file still reads and a wrong one gets a precise refusal.
public enum InputFiles {
    /// No input this tool reads is near this size; the cap stops a wrong path from eating memory.
    public static let maxBytes = 256 << 20

    /// The file's bytes, inflated when it is gzip (zlib's gzread passes plain files through).
    public static func read(_ path: String) throws(InputError) -> [UInt8] {
        // Opened once and checked on the open file (RegularFile): a FIFO or a device is refused
        // before a byte is read, and the file read is the file checked.
        let file = try regular(path, maxBytes: maxBytes)
        let fd = dup(file.fd)
        guard fd >= 0, let gz = gzdopen(fd, "rb") else {
            if fd >= 0 { close(fd) }
            throw InputError(path: path, problem: "cannot open")
        }
        defer { gzclose(gz) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw InputError(path: path, problem: "corrupt or truncated gzip data") }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
            if out.count > maxBytes { throw InputError(path: path, problem: "larger than \(maxBytes >> 20) MiB; not an input this tool reads") }
        }
        var err: Int32 = 0
        _ = gzerror(gz, &err)
        if err != Z_OK && err != Z_STREAM_END { throw InputError(path: path, problem: "corrupt or truncated gzip data (zlib error \(err))") }
        return out
    }

    /// The file's bytes as they are (a .npy is never gzip: a gzip file must not pass as one).
    public static func readPlain(_ path: String) throws(InputError) -> [UInt8] {
        let file = try regular(path, maxBytes: maxBytes)
        do { return try file.readAll() } catch { throw InputError(path: path, problem: error.problem) }
    }

    static func regular(_ path: String, maxBytes: Int) throws(InputError) -> RegularFile {
        do { return try RegularFile(path, maxBytes: maxBytes, what: "image or latents") } catch { throw InputError(path: path, problem: error.problem) }
    }

    /// Images from an IDX3, PNG or PGM file (one image for PNG and PGM).
    public static func images(_ path: String) throws(InputError) -> GrayImages {
        let b = try read(path)
        if b.starts(with: PNGDecoder.signature) { return GrayImages(single: try PNGDecoder.decode(b, path: path)) }
        if b.count >= 2, b[0] == UInt8(ascii: "P"), (b[1] == UInt8(ascii: "5") || b[1] == UInt8(ascii: "2")) {
            return GrayImages(single: try PGM.decode(b, path: path))
        }
        if b.count >= 4, b[0] == 0, b[1] == 0 { return try IDX.decodeImages(b, path: path) }
        throw InputError(path: path, problem: "not an IDX, PNG or PGM file (the first bytes match none of them)")
    }
}

extension GrayImages {
    init(single g: GrayImage) { self.init(width: g.width, height: g.height, images: [g.pixels]) }
}
