// Line plots (training curves) rendered into an RGB image with the built-in font.
//
// Layout of one panel, from the outside in: the title on top, the y-axis label
// (vertical) at the left, y tick labels, the plot area framed by a dark box,
// x tick labels and the x-axis label underneath. Axis ranges come from the
// finite data with 5% margins on each side; ticks are "nice" numbers
// (1, 2, 2.5 or 5 x 10^k apart, 4 to 6 of them when possible).

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ToolSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One curve: points joined in the given order, with a marker at each point.
public struct Series {
    public var name: String
    public var color: (UInt8, UInt8, UInt8)
    public var points: [(x: Double, y: Double)]
    public var dashed: Bool

    public init(name: String, color: (UInt8, UInt8, UInt8), points: [(x: Double, y: Double)], dashed: Bool = false) {
        self.name = name
        self.color = color
        self.points = points
        self.dashed = dashed
    }

    /// A series with x = firstX, firstX + 1, ... (e.g. epochs 1, 2, 3, ...).
    public init(name: String, color: (UInt8, UInt8, UInt8), values: [Double], firstX: Double = 1, dashed: Bool = false) {
        self.init(name: name, color: color,
                  points: values.enumerated().map { (x: firstX + Double($0.offset), y: $0.element) },
                  dashed: dashed)
    }
}

/// One plot: a title, axis labels and any number of series.
public struct Panel {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]

    public init(title: String, xLabel: String = "", yLabel: String = "", series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }
}

public enum LinePlot {
    public typealias Color = (UInt8, UInt8, UInt8)

    /// Distinct series colours (the "tab10" palette).
    public static let palette: [Color] = [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    ]

    static let background: Color = (255, 255, 255)
    static let gridColor: Color = (228, 228, 228)
    static let frameColor: Color = (60, 60, 60)
    static let textColor: Color = (25, 25, 25)
    static let legendBorder: Color = (170, 170, 170)

    /// Renders `panels` side by side (equal widths) into one `width` x `height`
    /// image on a white background. Non-finite points are skipped (a line is
    /// broken where one was), empty series only appear in the legend, and a
    /// degenerate range (one point, all values equal, no data) is widened so
    /// nothing divides by zero. Sizes below 1 are treated as 1.
    public static func render(_ panels: [Panel], width: Int, height: Int) -> RGBImage {
        let w = max(1, width), h = max(1, height)
        var image = RGBImage(width: w, height: h, fill: background)
        guard !panels.isEmpty else { return image }
        for (i, panel) in panels.enumerated() {
            let x0 = i * w / panels.count, x1 = (i + 1) * w / panels.count
            drawPanel(panel, into: &image, frame: Rect(x: x0, y: 0, width: x1 - x0, height: h))
        }
        return image
    }

    // MARK: - Geometry helpers

    struct Rect {
        var x: Int, y: Int, width: Int, height: Int
        var maxX: Int { x + width }   // exclusive
        var maxY: Int { y + height }  // exclusive
        func contains(_ px: Int, _ py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
        func intersects(_ o: Rect) -> Bool { x < o.maxX && o.x < maxX && y < o.maxY && o.y < maxY }
    }

    /// Rounds a pixel coordinate to Int without trapping on huge or non-finite values.
    static func pixel(_ v: Double) -> Int {
        guard v.isFinite else { return v > 0 ? 1_000_000 : -1_000_000 }
        return Int(min(1e6, max(-1e6, v)).rounded())
    }

    static func setClipped(_ image: inout RGBImage, _ x: Int, _ y: Int, _ clip: Rect, _ color: Color) {
        if clip.contains(x, y) { image.setPixel(x: x, y: y, color) }
    }

    // MARK: - Ranges and ticks

    /// The data range widened by 5% of its span on both sides; a zero (or
    /// negligible) span is widened around the value instead; no data gives 0...1.
    static func paddedRange(_ values: [Double]) -> (lo: Double, hi: Double) {
        guard var lo = values.first, var hi = values.first else { return (0, 1) }
        for v in values { lo = min(lo, v); hi = max(hi, v) }
        let magnitude = max(abs(lo), abs(hi))
        if hi - lo <= magnitude * 1e-9 {
            // Half a unit of the value's leading digit either side: 7 -> 6.5...7.5,
            // 250 -> 200...300, 0 -> -1...1. Always gives 4-6 nice ticks.
            let mid = lo / 2 + hi / 2
            let d = mid == 0 ? 1 : 0.5 * pow(10, log10(abs(mid)).rounded(.down))
            let dlo = mid - d, dhi = mid + d
            return (dlo.isFinite ? dlo : mid, dhi.isFinite ? dhi : mid)
        }
        let pad = hi * 0.05 - lo * 0.05          // no overflow even for huge spans
        let plo = lo - pad, phi = hi + pad
        return (plo.isFinite ? plo : lo, phi.isFinite ? phi : hi)
    }

    struct Ticks {
        var values: [Double] = []
        var labels: [String] = []
        /// The axis range, possibly widened a little to reach a tick (see `niceTicks`).
        var lo: Double = 0
        var hi: Double = 1
    }

    /// Tick values in [lo, hi] spaced 1, 2, 2.5 or 5 x 10^k apart, and their labels.
    ///
    /// A step giving 4-6 ticks inside the range is taken if there is one
    /// (5 ticks best; a 2.5-step only when no 1-, 2- or 5-step fits). Otherwise
    /// the range may be widened by up to 6% of its span at either end so that it
    /// starts or ends on a tick, if that gives 4-6 ticks; failing that, the step
    /// with the tick count closest to 5 is used. The returned `lo`/`hi` is the
    /// range to plot.
    static func niceTicks(lo: Double, hi: Double) -> Ticks {
        let span = hi - lo
        guard lo.isFinite, hi.isFinite, span > 0, span.isFinite else { return Ticks(lo: lo, hi: hi) }
        let base = (log10(span / 5)).rounded(.down)

        struct Candidate { var step, mantissa, exponent, lo, hi, first: Double; var count, score: Int }
        var best: Candidate? = nil
        func consider(_ c: Candidate) { if best == nil || c.score < best!.score { best = c } }

        for exponent in [base - 1, base, base + 1] {
            for mantissa in [1.0, 2.0, 2.5, 5.0] {
                let step = mantissa * pow(10, exponent)
                guard step > 0, step.isFinite else { continue }
                // Strict: ticks inside [lo, hi].
                // (1e-9 tolerance: a range end that is a tick up to rounding counts as one)
                let first = (lo / step - 1e-9).rounded(.up), last = (hi / step + 1e-9).rounded(.down)
                guard first.isFinite, last.isFinite, last - first < 1000 else { continue }
                let count = Int(last - first) + 1
                let preference = abs(count - 5) * 10 + (mantissa == 2.5 ? 15 : 0)
                if (4...6).contains(count) {
                    consider(Candidate(step: step, mantissa: mantissa, exponent: exponent, lo: lo, hi: hi,
                                       first: first, count: count, score: preference))
                    continue
                }
                // Loose: extend an end to the next tick when that is close.
                let slack = 0.06 * span
                let looseLo = (lo / step).rounded(.down) * step, looseHi = (hi / step).rounded(.up) * step
                let newLo = lo - looseLo <= slack ? looseLo : lo
                let newHi = looseHi - hi <= slack ? looseHi : hi
                let looseFirst = (newLo / step - 1e-9).rounded(.up), looseLast = (newHi / step + 1e-9).rounded(.down)
                let looseCount = Int(looseLast - looseFirst) + 1
                if (4...6).contains(looseCount) {
                    consider(Candidate(step: step, mantissa: mantissa, exponent: exponent, lo: newLo, hi: newHi,
                                       first: looseFirst, count: looseCount,
                                       score: 100 + abs(looseCount - 5) * 10 + (mantissa == 2.5 ? 15 : 0)))
                } else if count > 0 {
                    // Last resort: closest to 5, more ticks preferred over fewer.
                    consider(Candidate(step: step, mantissa: mantissa, exponent: exponent, lo: lo, hi: hi,
                                       first: first, count: count,
                                       score: 1000 + abs(count - 5) * 10 + (count < 5 ? 1 : 0)))
                }
            }
        }
        guard let b = best else { return Ticks(lo: lo, hi: hi) }
        var ticks = Ticks(lo: b.lo, hi: b.hi)
        for i in 0..<b.count {
            var v = (b.first + Double(i)) * b.step
            if abs(v) < b.step * 1e-6 { v = 0 }   // no "-0" or 1e-17 labels
            ticks.values.append(v)
        }
        ticks.labels = formatTicks(ticks.values, mantissa: b.mantissa, exponent: Int(b.exponent))
        return ticks
    }

    /// Labels with just enough decimals to tell the ticks apart (those of the
    /// step); scientific ("2.5e-5") when all values are tiny or any is huge.
    static func formatTicks(_ values: [Double], mantissa: Double, exponent: Int) -> [String] {
        let extra = mantissa == 2.5 ? 1 : 0
        let maxAbs = values.map { abs($0) }.max() ?? 0
        if maxAbs >= 1e6 || (maxAbs < 1e-3 && maxAbs > 0) {
            let e = Int(log10(maxAbs).rounded(.down))
            let decimals = min(15, max(0, e - exponent + extra))
            return values.map { v in
                if v == 0 { return "0" }
                let m = v / pow(10, Double(e))
                return cformat("%.*f", Int32(decimals), m) + "e\(e)"
            }
        }
        let decimals = min(15, max(0, -exponent + extra))
        return values.map { cformat("%.*f", Int32(decimals), $0) }
    }

    // MARK: - Text helpers

    /// `text`, shortened with ".." if needed so it fits in `maxWidth` pixels.
    static func fit(_ text: String, scale: Int, maxWidth: Int) -> String {
        if BitmapFont.width(of: text, scale: scale) <= maxWidth { return text }
        var chars = Array(text)
        while !chars.isEmpty {
            chars.removeLast()
            let candidate = String(chars) + ".."
            if BitmapFont.width(of: candidate, scale: scale) <= maxWidth { return candidate }
        }
        return ""
    }

    // MARK: - Panel

    static func drawPanel(_ panel: Panel, into image: inout RGBImage, frame: Rect) {
        let s = max(1, min(frame.width, frame.height) / 360)   // text scale
        let titleScale = s + 1
        let pad = 4 * s
        let tickLen = 3 * s
        let digitHeight = BitmapFont.ascent * s
        let lineHeight = BitmapFont.height(scale: s)

        // Ranges from the finite data.
        var xs: [Double] = [], ys: [Double] = []
        for series in panel.series {
            for p in series.points where p.x.isFinite && p.y.isFinite {
                xs.append(p.x); ys.append(p.y)
            }
        }
        let xr = paddedRange(xs), yr = paddedRange(ys)
        let xTicks = niceTicks(lo: xr.lo, hi: xr.hi)
        let yTicks = niceTicks(lo: yr.lo, hi: yr.hi)
        let xlo = xTicks.lo, xhi = xTicks.hi, ylo = yTicks.lo, yhi = yTicks.hi

        // Margins.
        // The title drops to the label scale, then gets shortened, if it is too wide.
        let maxTitleWidth = frame.width - 2 * pad
        let usedTitleScale = BitmapFont.width(of: panel.title, scale: titleScale) <= maxTitleWidth ? titleScale : s
        let finalTitle = fit(panel.title, scale: usedTitleScale, maxWidth: maxTitleWidth)
        let top = finalTitle.isEmpty ? pad * 2 : pad + BitmapFont.height(scale: usedTitleScale) + pad
        let yLabelWidth = yTicks.labels.map { BitmapFont.width(of: $0, scale: s) }.max() ?? 0
        let left = pad + (panel.yLabel.isEmpty ? 0 : lineHeight + pad) + yLabelWidth + 2 * s + tickLen
        let bottom = tickLen + 2 * s + digitHeight + pad + (panel.xLabel.isEmpty ? 0 : lineHeight + pad)
        let lastXLabelWidth = xTicks.labels.last.map { BitmapFont.width(of: $0, scale: s) } ?? 0
        let right = max(3 * pad, lastXLabelWidth / 2 + pad)

        let plot = Rect(x: frame.x + left, y: frame.y + top,
                        width: frame.width - left - right, height: frame.height - top - bottom)

        // Title, centred over the plot area when it fits there, else over the panel.
        if !finalTitle.isEmpty {
            let tw = BitmapFont.width(of: finalTitle, scale: usedTitleScale)
            var tx = plot.x + (plot.width - tw) / 2
            tx = max(frame.x + pad, min(tx, frame.maxX - pad - tw))
            BitmapFont.draw(finalTitle, into: &image, x: tx, y: frame.y + pad, scale: usedTitleScale, color: textColor)
        }
        guard plot.width >= 4, plot.height >= 4 else { return }

        func mapX(_ v: Double) -> Int { pixel(Double(plot.x) + (v - xlo) / (xhi - xlo) * Double(plot.width - 1)) }
        func mapY(_ v: Double) -> Int { pixel(Double(plot.maxY - 1) - (v - ylo) / (yhi - ylo) * Double(plot.height - 1)) }

        // Grid lines.
        for v in xTicks.values {
            let x = mapX(v)
            for y in plot.y..<plot.maxY { setClipped(&image, x, y, plot, gridColor) }
        }
        for v in yTicks.values {
            let y = mapY(v)
            for x in plot.x..<plot.maxX { setClipped(&image, x, y, plot, gridColor) }
        }

        // Frame.
        for x in plot.x..<plot.maxX {
            image.setPixel(x: x, y: plot.y, frameColor)
            image.setPixel(x: x, y: plot.maxY - 1, frameColor)
        }
        for y in plot.y..<plot.maxY {
            image.setPixel(x: plot.x, y: y, frameColor)
            image.setPixel(x: plot.maxX - 1, y: y, frameColor)
        }

        // X ticks and labels (a label that would overlap the previous one is skipped).
        var lastLabelEnd = Int.min
        for (v, label) in zip(xTicks.values, xTicks.labels) {
            let x = mapX(v)
            for t in 1...tickLen { image.setPixel(x: x, y: plot.maxY - 1 + t, frameColor) }
            let lw = BitmapFont.width(of: label, scale: s)
            let lx = x - lw / 2
            if lx > lastLabelEnd + 2 * s && lx >= frame.x && lx + lw <= frame.maxX {
                BitmapFont.draw(label, into: &image, x: lx, y: plot.maxY - 1 + tickLen + 2 * s, scale: s, color: textColor)
                lastLabelEnd = lx + lw
            }
        }
        // Y ticks and labels, right-aligned against the ticks.
        var lastLabelTop = Int.max
        for (v, label) in zip(yTicks.values, yTicks.labels) {
            let y = mapY(v)
            for t in 1...tickLen { image.setPixel(x: plot.x - t, y: y, frameColor) }
            let lw = BitmapFont.width(of: label, scale: s)
            let ly = y - digitHeight / 2
            if ly + digitHeight + s < lastLabelTop {
                BitmapFont.draw(label, into: &image, x: plot.x - tickLen - 2 * s - lw, y: ly, scale: s, color: textColor)
                lastLabelTop = ly
            }
        }

        // Axis labels.
        if !panel.xLabel.isEmpty {
            let text = fit(panel.xLabel, scale: s, maxWidth: frame.width - 2 * pad)
            let tw = BitmapFont.width(of: text, scale: s)
            let tx = max(frame.x + pad, min(plot.x + (plot.width - tw) / 2, frame.maxX - pad - tw))
            BitmapFont.draw(text, into: &image, x: tx, y: plot.maxY - 1 + tickLen + 2 * s + digitHeight + pad,
                            scale: s, color: textColor)
        }
        if !panel.yLabel.isEmpty {
            let text = fit(panel.yLabel, scale: s, maxWidth: frame.height - 2 * pad)
            let tw = BitmapFont.width(of: text, scale: s)
            let bottomY = min(plot.y + (plot.height + tw) / 2, frame.maxY - pad)
            BitmapFont.draw(text, into: &image, x: frame.x + pad, y: max(bottomY, frame.y + pad + tw),
                            scale: s, color: textColor, vertical: true)
        }

        // Series: lines first, then markers on top.
        let thickness = max(2, s + 1)
        for series in panel.series {
            var dashPhase = 0
            var previous: (Int, Int)? = nil
            for p in series.points {
                guard p.x.isFinite && p.y.isFinite else { previous = nil; continue }
                let current = (mapX(p.x), mapY(p.y))
                if let prev = previous {
                    drawLine(&image, from: prev, to: current, thickness: thickness, clip: plot,
                             color: series.color, dash: series.dashed ? (7 * s, 5 * s) : nil, phase: &dashPhase)
                }
                previous = current
            }
        }
        let markerSize = thickness + 4
        for series in panel.series {
            for p in series.points where p.x.isFinite && p.y.isFinite {
                drawMarker(&image, at: (mapX(p.x), mapY(p.y)), size: markerSize, thickness: thickness,
                           clip: plot, color: series.color)
            }
        }

        drawLegend(panel.series, into: &image, plot: plot, scale: s, thickness: thickness,
                   markerSize: markerSize, mapX: mapX, mapY: mapY)
    }

    // MARK: - Lines and markers

    /// A Bresenham line whose every step stamps a `thickness` x `thickness`
    /// square with its top-left on the ideal pixel (no anti-aliasing). With
    /// `dash` = (on, off), steps alternate between drawn and skipped; `phase`
    /// carries the pattern on from segment to segment.
    static func drawLine(_ image: inout RGBImage, from a: (Int, Int), to b: (Int, Int), thickness: Int,
                         clip: Rect, color: Color, dash: (Int, Int)?, phase: inout Int) {
        var x = a.0, y = a.1
        let dx = abs(b.0 - x), dy = -abs(b.1 - y)
        let sx = x < b.0 ? 1 : -1, sy = y < b.1 ? 1 : -1
        var err = dx + dy
        let offset = (thickness - 1) / 2
        while true {
            var on = true
            if let d = dash {
                on = phase % (d.0 + d.1) < d.0
                phase += 1
            }
            if on {
                for ty in 0..<thickness {
                    for tx in 0..<thickness {
                        setClipped(&image, x + tx - offset, y + ty - offset, clip, color)
                    }
                }
            }
            if x == b.0 && y == b.1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// A filled square marker with clipped corners, centred on the line stamp at `p`.
    static func drawMarker(_ image: inout RGBImage, at p: (Int, Int), size: Int, thickness: Int,
                           clip: Rect, color: Color) {
        // The line stamp covers p - offset ..< p - offset + thickness; centre the marker on it.
        let offset = (thickness - 1) / 2
        let x0 = p.0 - offset - (size - thickness) / 2
        let y0 = p.1 - offset - (size - thickness) / 2
        for dy in 0..<size {
            for dx in 0..<size {
                let corner = (dx == 0 || dx == size - 1) && (dy == 0 || dy == size - 1)
                if !corner { setClipped(&image, x0 + dx, y0 + dy, clip, color) }
            }
        }
    }

    // MARK: - Legend

    /// A white box with a grey border listing each series (a line sample with a
    /// marker in the series' colour, then its name), placed in whichever corner
    /// of the plot area covers the fewest data pixels.
    static func drawLegend(_ seriesList: [Series], into image: inout RGBImage, plot: Rect, scale s: Int,
                           thickness: Int, markerSize: Int, mapX: (Double) -> Int, mapY: (Double) -> Int) {
        guard !seriesList.isEmpty else { return }
        let pad = 4 * s
        let sampleLength = 20 * s
        let rowHeight = BitmapFont.height(scale: s) + 2 * s
        let maxText = max(0, plot.width - 4 * pad - sampleLength - 4 * s)
        let names = seriesList.map { fit($0.name, scale: s, maxWidth: maxText) }
        let textWidth = names.map { BitmapFont.width(of: $0, scale: s) }.max() ?? 0
        let box = (width: pad + sampleLength + pad + textWidth + pad,
                   height: pad + rowHeight * seriesList.count - 2 * s + pad)
        guard box.width + 2 * pad <= plot.width, box.height + 2 * pad <= plot.height else { return }

        // Score the four corners by how many curve pixels they would hide.
        let corners = [
            Rect(x: plot.maxX - pad - box.width, y: plot.y + pad, width: box.width, height: box.height),
            Rect(x: plot.x + pad, y: plot.y + pad, width: box.width, height: box.height),
            Rect(x: plot.maxX - pad - box.width, y: plot.maxY - pad - box.height, width: box.width, height: box.height),
            Rect(x: plot.x + pad, y: plot.maxY - pad - box.height, width: box.width, height: box.height),
        ]
        var hits = [Int](repeating: 0, count: corners.count)
        for series in seriesList {
            var previous: (Double, Double)? = nil
            for p in series.points {
                guard p.x.isFinite && p.y.isFinite else { previous = nil; continue }
                let current = (Double(mapX(p.x)), Double(mapY(p.y)))
                let from = previous ?? current
                for k in 0...16 {   // sample the segment from the previous point
                    let t = Double(k) / 16
                    let px = pixel(from.0 + (current.0 - from.0) * t), py = pixel(from.1 + (current.1 - from.1) * t)
                    for (i, c) in corners.enumerated() where c.contains(px, py) { hits[i] += 1 }
                }
                previous = current
            }
        }
        let best = hits.indices.min { hits[$0] < hits[$1] } ?? 0   // first of equals: top-right preferred
        let r = corners[best]

        image.fillRect(x: r.x, y: r.y, width: r.width, height: r.height, background)
        for x in r.x..<r.maxX { image.setPixel(x: x, y: r.y, legendBorder); image.setPixel(x: x, y: r.maxY - 1, legendBorder) }
        for y in r.y..<r.maxY { image.setPixel(x: r.x, y: y, legendBorder); image.setPixel(x: r.maxX - 1, y: y, legendBorder) }

        for (i, series) in seriesList.enumerated() {
            let rowTop = r.y + pad + i * rowHeight
            let midY = rowTop + (BitmapFont.ascent * s) / 2
            var phase = 0
            let x0 = r.x + pad, x1 = r.x + pad + sampleLength - thickness
            drawLine(&image, from: (x0, midY), to: (x1, midY), thickness: thickness, clip: r, color: series.color,
                     dash: series.dashed ? (5 * s, 3 * s) : nil, phase: &phase)
            drawMarker(&image, at: ((x0 + x1) / 2, midY), size: markerSize, thickness: thickness, clip: r,
                       color: series.color)
            BitmapFont.draw(names[i], into: &image, x: r.x + pad + sampleLength + pad, y: rowTop,
                            scale: s, color: textColor)
        }
    }
}
