// printf-style formatting, path joining and stderr for the tools and their libraries, without
// Foundation: loading Foundation (and its ICU data) costs a whole-process run several
// milliseconds, most of vae-gen's start-up; FoundationEssentials has no String(format:).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `printf`-style formatting of numbers (no `%@`: interpolate strings instead).
public func cformat(_ format: String, _ args: CVarArg...) -> String {
    var buf = [CChar](repeating: 0, count: 256)
    let n = withVaList(args) { vsnprintf(&buf, buf.count, format, $0) }
    if n < 0 { return format }
    if Int(n) >= buf.count {
        buf = [CChar](repeating: 0, count: Int(n) + 1)
        _ = withVaList(args) { vsnprintf(&buf, buf.count, format, $0) }
    }
    return String(decoding: buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

public enum Path {
    /// `dir/name`, without doubling a slash.
    public static func join(_ dir: String, _ name: String) -> String {
        if dir.isEmpty { return name }
        return dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// The part after the last slash.
    public static func basename(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: i)...])
    }

    /// The part before the last slash: "." for a bare name, "/" for a file in the root.
    public static func dirname(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }
}

/// One line to standard error.
public func printError(_ line: String) {
    fputs(line + "\n", stderr)
}

/// A monotonic clock, for timing.
public func monotonicNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
}
