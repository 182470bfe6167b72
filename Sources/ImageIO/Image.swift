// In-memory 8-bit images: grayscale and interleaved RGB, row-major, top row first.

/// An 8-bit grayscale image; `pixels[y * width + x]` is the pixel at column x, row y.
public struct GrayImage: Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "GrayImage: negative size")
        precondition(pixels.count == width * height,
                     "GrayImage: \(pixels.count) pixels for \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image of the given size with every pixel set to `fill`.
    public init(width: Int, height: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: fill, count: max(0, width) * max(0, height)))
    }

    /// The pixel at (x, y); traps if outside the image.
    public func pixel(x: Int, y: Int) -> UInt8 {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "GrayImage: (\(x), \(y)) out of bounds")
        return pixels[y * width + x]
    }

    /// Sets the pixel at (x, y); coordinates outside the image are ignored (clipping).
    public mutating func setPixel(x: Int, y: Int, _ value: UInt8) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        pixels[y * width + x] = value
    }
}

/// An 8-bit RGB image; the pixel at column x, row y is
/// `pixels[3 * (y * width + x) ..< 3 * (y * width + x) + 3]` (R, G, B).
public struct RGBImage: Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    /// An image of the given size with every pixel set to `fill`.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size")
        self.width = width
        self.height = height
        var p = [UInt8](repeating: 0, count: width * height * 3)
        var i = 0
        while i < p.count {
            p[i] = fill.0; p[i + 1] = fill.1; p[i + 2] = fill.2
            i += 3
        }
        self.pixels = p
    }

    /// An image from existing interleaved RGB bytes (`3 * width * height` of them).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size")
        precondition(pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height)x3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at (x, y) as (r, g, b); traps if outside the image.
    public func pixel(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "RGBImage: (\(x), \(y)) out of bounds")
        let i = 3 * (y * width + x)
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Sets the pixel at (x, y); coordinates outside the image are ignored (clipping).
    public mutating func setPixel(x: Int, y: Int, _ color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let i = 3 * (y * width + x)
        pixels[i] = color.0; pixels[i + 1] = color.1; pixels[i + 2] = color.2
    }

    /// Fills the rectangle [x, x+w) x [y, y+h), clipped to the image.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ color: (UInt8, UInt8, UInt8)) {
        let x0 = max(0, x), x1 = min(width, x + w)
        let y0 = max(0, y), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            var i = 3 * (yy * width + x0)
            for _ in x0..<x1 {
                pixels[i] = color.0; pixels[i + 1] = color.1; pixels[i + 2] = color.2
                i += 3
            }
        }
    }

    /// Number of pixels exactly equal to `color`.
    public func count(of color: (UInt8, UInt8, UInt8)) -> Int {
        var n = 0
        var i = 0
        while i < pixels.count {
            if pixels[i] == color.0 && pixels[i + 1] == color.1 && pixels[i + 2] == color.2 { n += 1 }
            i += 3
        }
        return n
    }
}
