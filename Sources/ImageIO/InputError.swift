import ToolSupport

/// Why an input file (images, latents) was refused: the file and the field or rule at fault, so
/// that the one line a user sees says what to fix.
public struct InputError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String
    public init(path: String, problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(Path.shown(path)): \(problem)" }
}

/// Grayscale images of one size, row-major, one byte a pixel (what the encoder reads).
public struct GrayImages: Equatable {
    public let width: Int, height: Int
    public let images: [[UInt8]]
    public init(width: Int, height: Int, images: [[UInt8]]) { self.width = width; self.height = height; self.images = images }
}
