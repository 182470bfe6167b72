#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What swift-argument-parser gets wrong for these tools, found before it parses: it reads a
/// negative number after an option as another option ("Missing value for '--seed <seed>'"), and
/// it lets a repeated option silently replace the first value. No option of vae-gen or
/// vae-train takes a negative number or is meant to be given twice.
public enum ArgumentCheck {
    /// The first problem in `args` (without the program name), or nil.
    public static func problem(_ args: [String]) -> String? {
        var seen = Set<String>()
        var previousTakesValue: String? = nil
        for a in args {
            if a == "--" { return nil }
            if let opt = previousTakesValue, isNegativeNumber(a) {
                return "\(opt) \(a): negative numbers are not accepted (every count, seed and size here is 0 or more)"
            }
            previousTakesValue = nil
            guard a.hasPrefix("-"), a.count > 1, !isNegativeNumber(a) else { continue }
            let name = String(a.split(separator: "=", maxSplits: 1)[0])
            if name == "-h" || name == "--help" || name == "--version" { continue }
            if seen.contains(name) {
                return "\(name) is given twice; give each option once (the parser would keep only the last)"
            }
            seen.insert(name)
            if !a.contains("=") { previousTakesValue = name }
        }
        return nil
    }

    /// Prints "TOOL: error: PROBLEM" and exits 64 (EX_USAGE, as the parser) if there is one.
    public static func exitOnProblem(tool: String, _ arguments: [String]) {
        guard let p = problem(Array(arguments.dropFirst())) else { return }
        printError("\(tool): error: \(p)")
        exit(64)
    }

    static func isNegativeNumber(_ s: String) -> Bool {
        guard s.hasPrefix("-"), s.count > 1 else { return false }
        let rest = s.dropFirst()
        return rest.first.map { $0.isNumber || $0 == "." } ?? false
    }
}

