import Checkpoint
import ToolSupport

/// The files of one set (the grids, the per-digit files, a web page's files), written in order,
/// each atomically: a temporary beside it, renamed into place, so every file is whole or absent.
/// When one fails (a full disk, a read-only folder), the run stops and says how many of the set
/// were written completely and which failed first: a set that stops half-way is otherwise
/// indistinguishable from a whole one by looking at the folder.
struct FileSet {
    /// "per-digit PNG files", "grid pictures": how the message names the set.
    let what: String
    let total: Int
    private(set) var written = 0
    private var first: String?, last: String?

    init(_ what: String, total: Int) { self.what = what; self.total = total }

    mutating func write(_ bytes: [UInt8], to path: String) {
        do { try AtomicFile.write(bytes, to: path, durable: false) } catch {
            // A set of one needs no count: the error names its file.
            guard total > 1 else { fail("\(error)") }
            let done = first.map { written == 1 ? " (\($0))" : " (\($0) ... \(Path.shown(Path.basename(last!))))" } ?? ""
            let rest = total - written - 1
            fail("\(error)\nvae-gen: \(written) of \(total) \(what) were written completely\(done); the first that failed is \(Path.shown(Path.basename(path)))"
                 + (rest > 0 ? ", and the \(rest) after it were not written" : "") + "; no partial file is left")
        }
        written += 1
        if first == nil { first = Path.shown(path) }
        last = path
    }
}
