import CZlib
import Foundation
import ToolSupport

/// A set of 28x28 8-bit images read from an IDX file (gzip-compressed or plain).
public struct ImageSet: Sendable {
    public let count: Int
    public let rows: Int
    public let cols: Int
    public let pixels: [UInt8]   // count * rows * cols

    public init(count: Int, rows: Int, cols: Int, pixels: [UInt8]) {
        precondition(pixels.count == count * rows * cols)
        self.count = count; self.rows = rows; self.cols = cols; self.pixels = pixels
    }

    /// The first n images.
    public func prefix(_ n: Int) -> ImageSet {
        let m = min(n, count)
        return ImageSet(count: m, rows: rows, cols: cols, pixels: Array(pixels[0..<(m * rows * cols)]))
    }
}

public struct DataError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "\(Path.shown(path)): \(problem)" }
    public init(path: String, problem: String) { self.path = path; self.problem = problem }
}

public enum MNIST {
    /// Largest file the reader will inflate (the real training set is 47 MB).
    static let maxBytes = 512 << 20

    /// Reads an IDX3 image file. Everything in the header is checked against the file's real
    /// length before any buffer is sized from it.
    public static func loadImages(_ path: String, expectSide: Int = 28) throws -> ImageSet {
        try parseImages(try readMaybeGzip(path), path: path, expectSide: expectSide)
    }

    /// An IDX3 image file's bytes (inflated), checked; `path` names it in errors.
    public static func parseImages(_ bytes: [UInt8], path: String, expectSide: Int = 28) throws -> ImageSet {
        func be32(_ o: Int) -> Int { Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]) }
        guard bytes.count >= 4 else { throw DataError(path: path, problem: "too short to be an IDX file (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(path: path, problem: "not an IDX file (bad magic \(hex(bytes[0..<4])); expected 00 00 08 03)")
        }
        guard bytes[2] == 0x08 else { throw DataError(path: path, problem: "IDX element type 0x\(String(bytes[2], radix: 16)) is not unsigned bytes (0x08)") }
        let dims = Int(bytes[3])
        if dims == 1 { throw DataError(path: path, problem: "this is a labels file (1 dimension), not images; pass the *-images-idx3-ubyte file") }
        guard dims == 3 else { throw DataError(path: path, problem: "has \(dims) dimensions; an image file has 3 (count, rows, columns)") }
        guard bytes.count >= 16 else { throw DataError(path: path, problem: "truncated header (\(bytes.count) bytes)") }
        let n = be32(4), r = be32(8), c = be32(12)
        guard r == expectSide, c == expectSide else {
            throw DataError(path: path, problem: "images are \(r)x\(c); this model needs \(expectSide)x\(expectSide)")
        }
        guard n > 0 else { throw DataError(path: path, problem: "holds no images") }
        let need = 16 + n * r * c
        guard bytes.count >= need else {
            throw DataError(path: path, problem: "truncated: header says \(n) images (\(need) bytes) but the data is \(bytes.count) bytes")
        }
        guard bytes.count == need else {
            throw DataError(path: path, problem: "\(bytes.count - need) bytes of trailing data after \(n) images")
        }
        return ImageSet(count: n, rows: r, cols: c, pixels: Array(bytes[16..<need]))
    }

    /// Where vae-train looks when --data is not given: inside the checkout (and ignored by git),
    /// so a clone needs nothing outside itself once the files are there.
    public static let defaultFolder = "data/mnist"

    /// The four files of the MNIST distribution, as the folder must name them (each may also be
    /// uncompressed, without .gz). Training reads the two image files; the labels are optional.
    public static let fileNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    /// What to do when the data is not where it was looked for: what the folder must hold, and
    /// where the files come from.
    public static let whereToGetTheData = """
        --data must name a folder holding the MNIST IDX files, gzip-compressed or plain:
          \(fileNames.map { $0 + ".gz" }.joined(separator: "\n  "))
        (training reads the two image files; the labels files are optional). MNIST is at
        http://yann.lecun.com/exdb/mnist/ and on mirrors such as https://ossci-datasets.s3.amazonaws.com/mnist/;
        put the files in \(defaultFolder) (the default, ignored by git) or pass --data DIR.
        Debian's package dataset-fashion-mnist (Fashion-MNIST: the same file names and layout) works
        too: install it and pass --data the folder holding its *-idx3-ubyte files (dpkg -L dataset-fashion-mnist).
        """

    /// The training and test sets in a folder laid out like MNIST's distribution (`fileNames`).
    public static func loadFolder(_ dir: String) throws -> (train: ImageSet, test: ImageSet) {
        let shown = shownPath(dir)
        func find(_ stem: String) throws -> String {
            for name in [stem + ".gz", stem] {
                let p = (dir as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            throw DataError(path: shown, problem: "has no \(stem).gz (nor \(stem)).\n" + whereToGetTheData)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw DataError(path: shown, problem: (FileManager.default.fileExists(atPath: dir) ? "not a folder" : "no such folder") + ".\n" + whereToGetTheData)
        }
        return (try loadImages(try find("train-images-idx3-ubyte")), try loadImages(try find("t10k-images-idx3-ubyte")))
    }

    /// A relative path with the absolute one it resolved to, since the default is relative to
    /// wherever the command was started.
    static func shownPath(_ p: String) -> String {
        guard !p.hasPrefix("/") else { return p }
        let abs = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(p)
        return "\(p) (\((abs as NSString).standardizingPath))"
    }

    static func hex(_ b: ArraySlice<UInt8>) -> String { b.map { String(format: "%02x", $0) }.joined(separator: " ") }

    /// Whole file, inflated if it is gzip (zlib's gzread passes plain files through).
    static func readMaybeGzip(_ path: String) throws -> [UInt8] {
        // A regular file, checked on the open descriptor before zlib reads from it (a FIFO
        // would block forever, /dev/zero never ends, a folder is not "missing").
        let file: RegularFile
        do { file = try RegularFile(path, maxBytes: maxBytes, what: "MNIST IDX") } catch { throw DataError(path: path, problem: error.problem) }
        let fd = dup(file.fd)
        guard fd >= 0, let gz = gzdopen(fd, "rb") else {
            if fd >= 0 { close(fd) }
            throw DataError(path: path, problem: "cannot open")
        }
        defer { gzclose(gz) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var err: Int32 = 0
                throw DataError(path: path, problem: "corrupt or truncated gzip data (\(zlibReason(gzerror(gz, &err), err)))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
            if out.count > maxBytes { throw DataError(path: path, problem: "larger than \(maxBytes >> 20) MiB when inflated; not an MNIST file") }
        }
        // gzread stops silently at a truncated gzip member; zlib reports it through gzerror.
        var err: Int32 = 0
        let msg = gzerror(gz, &err)
        if err != Z_OK && err != Z_STREAM_END {
            throw DataError(path: path, problem: "corrupt or truncated gzip data (\(zlibReason(msg, err)))")
        }
        return out
    }
}

/// zlib's gzerror text without the "NAME: " it prefixes (the descriptor's "<fd:4>" for gzdopen,
/// or a path the caller's message already names).
func zlibReason(_ msg: UnsafePointer<CChar>?, _ err: Int32) -> String {
    guard let msg else { return "zlib error \(err)" }
    let s = String(cString: msg)
    if let r = s.range(of: ": ", options: .backwards) { return String(s[r.upperBound...]) }
    return s
}
