// Inputs must be regular files, checked before a byte is read: a FIFO would block a reader
// forever, /dev/zero or /dev/urandom never end, a directory "reads" as an error that looks like
// a missing file. RegularFile opens without blocking (O_NONBLOCK), asks the open descriptor what
// it is (fstat, so nothing can swap the file between the check and the read), refuses anything
// but a regular file with the true reason, and caps the size before any buffer is sized from it.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an input file was refused; `description` names the file (control bytes escaped).
public struct FileProblem: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public init(path: String, problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(Path.shown(path)): \(problem)" }
}

/// A regular file open for reading at offsets; closed when the value goes.
public final class RegularFile {
    public let path: String
    public let fd: Int32
    /// Its length when it was opened.
    public let size: Int

    /// Opens `path` for reading if it is a regular file of at most `maxBytes` bytes; `what`
    /// names the kind of file in the size message ("checkpoint", "decoder image").
    public init(_ path: String, maxBytes: Int, what: String = "input") throws(FileProblem) {
        self.path = path
        guard !path.isEmpty else { throw FileProblem(path: "''", problem: "empty file name") }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw FileProblem(path: path, problem: e == ENOENT ? "no such file" : "cannot open: \(RegularFile.reason(e))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno; close(fd)
            throw FileProblem(path: path, problem: "cannot stat: \(RegularFile.reason(e))")
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            throw FileProblem(path: path, problem: "\(RegularFile.describe(kind)), not a regular file; give the path of \(what.first.map { "aeiouAEIOU".contains($0) } == true || what.hasPrefix("MNIST") ? "an" : "a") \(what) file")
        }
        guard st.st_size <= off_t(maxBytes) else {
            close(fd)
            throw FileProblem(path: path, problem: "\(st.st_size) bytes is larger than any \(what) (the cap is \(maxBytes) bytes)")
        }
        // Regular files never block; clear O_NONBLOCK so that reads behave as usual.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        self.fd = fd
        self.size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Exactly `count` bytes at `offset`; a file that ends early (it shrank) is "truncated".
    public func read(at offset: Int, count: Int) throws(FileProblem) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: Int32 = 0
        out.withUnsafeMutableBytes { b in
            while done < count {
                let n = pread(fd, b.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                if n == 0 { return }
                done += n
            }
        }
        if failure != 0 { throw FileProblem(path: path, problem: "read failed: \(RegularFile.reason(failure))") }
        if done < count { throw FileProblem(path: path, problem: "truncated: the file ended at \(offset + done) bytes while reading (it shrank?)") }
        return out
    }

    /// The whole file.
    public func readAll() throws(FileProblem) -> [UInt8] { try read(at: 0, count: size) }

    /// A regular file's whole contents, at most `maxBytes`.
    public static func contents(_ path: String, maxBytes: Int, what: String = "input") throws(FileProblem) -> [UInt8] {
        try RegularFile(path, maxBytes: maxBytes, what: what).readAll()
    }

    /// "a directory", "a FIFO (named pipe)", ...: what a non-regular file is.
    public static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "is a directory"
        case S_IFIFO: return "is a FIFO (named pipe)"
        case S_IFCHR: return "is a character device (such as /dev/zero or a terminal)"
        case S_IFBLK: return "is a block device"
        case S_IFSOCK: return "is a socket"
        default: return "is not a regular file"
        }
    }

    static func reason(_ e: Int32) -> String { String(cString: strerror(e)) }
}

extension Path {
    /// A path as messages show it: control bytes and invalid UTF-8 escaped (\n, \t, \x1b, ...),
    /// so that a damaged or hostile name cannot redraw the terminal.
    public static func shown(_ path: String) -> String {
        var out = ""
        for u in path.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 || u.value == 0x7f || (0x80..<0xa0).contains(u.value) || u.value == 0xFFFD {
                    out += u.value == 0xFFFD ? "\\u{FFFD}" : cformat("\\x%02x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}
