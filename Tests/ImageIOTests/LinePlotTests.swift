import XCTest
@testable import ImageIO

final class LinePlotTests: XCTestCase {
    let red: (UInt8, UInt8, UInt8) = (214, 39, 40)
    let blue: (UInt8, UInt8, UInt8) = (31, 119, 180)
    let green: (UInt8, UInt8, UInt8) = (44, 160, 44)

    func lossPanels() -> [Panel] {
        let epochs = (1...20).map(Double.init)
        let train = epochs.map { 160 * exp(-$0 / 6) + 100 }
        let val = epochs.map { 150 * exp(-$0 / 7) + 108 }
        return [
            Panel(title: "Loss per image", xLabel: "epoch", yLabel: "loss",
                  series: [Series(name: "train", color: blue, points: Array(zip(epochs, train)).map { (x: $0.0, y: $0.1) }),
                           Series(name: "val", color: red, values: val, dashed: true)]),
            Panel(title: "KL per image", xLabel: "epoch", yLabel: "KL",
                  series: [Series(name: "train KL", color: green, values: epochs.map { 20 + 5 * log($0) })]),
        ]
    }

    func testDrawsEachSeriesColourAndText() {
        let image = LinePlot.render(lossPanels(), width: 900, height: 360)
        XCTAssertEqual(image.width, 900)
        XCTAssertEqual(image.height, 360)
        XCTAssertEqual(image.pixels.count, 900 * 360 * 3)
        XCTAssertGreaterThan(image.count(of: blue), 300)
        XCTAssertGreaterThan(image.count(of: red), 150)   // dashed, so fewer pixels
        XCTAssertGreaterThan(image.count(of: green), 300)
        XCTAssertGreaterThan(image.count(of: LinePlot.textColor), 200)   // titles, labels, legend
        XCTAssertGreaterThan(image.count(of: LinePlot.gridColor), 200)
        XCTAssertGreaterThan(image.count(of: (255, 255, 255)), 900 * 360 / 2)   // mostly background

        // Each panel only holds its own series: green only in the right half, red only in the left.
        for y in 0..<image.height {
            for x in 0..<image.width {
                let p = image.pixel(x: x, y: y)
                if p == green { XCTAssertGreaterThanOrEqual(x, 450) }
                if p == red { XCTAssertLessThan(x, 450) }
            }
        }
    }

    func testDashedLineHasGaps() {
        let points = [(x: 0.0, y: 0.0), (x: 1.0, y: 0.0)]
        let solid = LinePlot.render([Panel(title: "", series: [Series(name: "s", color: red, points: points)])],
                                    width: 400, height: 300)
        let dashed = LinePlot.render([Panel(title: "", series: [Series(name: "s", color: red, points: points, dashed: true)])],
                                     width: 400, height: 300)
        XCTAssertGreaterThan(dashed.count(of: red), 50)
        XCTAssertLessThan(Double(dashed.count(of: red)), 0.8 * Double(solid.count(of: red)))
    }

    func testEdgeCasesDoNotCrash() {
        let nan = Double.nan, inf = Double.infinity
        let cases: [[Series]] = [
            [],
            [Series(name: "empty", color: red, points: [])],
            [Series(name: "one point", color: red, points: [(x: 3, y: 7)])],
            [Series(name: "flat", color: red, values: [2, 2, 2, 2])],
            [Series(name: "zeros", color: red, values: [0, 0, 0])],
            [Series(name: "all nan", color: red, values: [nan, nan])],
            [Series(name: "mixed", color: red, points: [(x: 1, y: 1), (x: nan, y: 2), (x: 3, y: inf), (x: 4, y: -inf), (x: 5, y: 3), (x: inf, y: 1)])],
            [Series(name: "huge", color: red, values: [-1e308, 1e308, 0])],
            [Series(name: "tiny", color: red, values: [1e-12, 3e-12, 2e-12])],
            [Series(name: "near-equal", color: red, values: [1, 1 + 1e-15, 1])],
            [Series(name: "negative", color: red, values: [-5, -50, -500])],
            [Series(name: "big", color: red, values: [1e9, 3e9])],
            [Series(name: String(repeating: "very long series name ", count: 10), color: red, values: [1, 2])],
        ]
        for series in cases {
            let panel = Panel(title: "Edge case", xLabel: "x", yLabel: "y", series: series)
            for (w, h) in [(640, 400), (120, 80), (10, 10), (1, 1), (0, 0), (-5, 3)] {
                let image = LinePlot.render([panel, panel], width: w, height: h)
                XCTAssertEqual(image.width, max(1, w))
                XCTAssertEqual(image.height, max(1, h))
                XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
            }
        }
        XCTAssertEqual(LinePlot.render([], width: 20, height: 10).count(of: (255, 255, 255)), 200)
        let longTitle = Panel(title: String(repeating: "Title ", count: 100), series: [])
        _ = LinePlot.render([longTitle], width: 300, height: 200)
    }

    func testSinglePointAndNaNSeriesStillDrawn() {
        let one = LinePlot.render([Panel(title: "p", series: [Series(name: "a", color: red, points: [(x: 3, y: 7)])])],
                                  width: 400, height: 300)
        XCTAssertGreaterThan(one.count(of: red), 20)   // marker (and legend sample)
        let withNaN = LinePlot.render([Panel(title: "p", series: [
            Series(name: "a", color: blue, values: [1, .nan, 3, .infinity, 5, 4]),
        ])], width: 400, height: 300)
        XCTAssertGreaterThan(withNaN.count(of: blue), 100)
    }

    func testNiceTicks() {
        var rng = TestRNG(state: 3)
        var outside4to6 = 0
        let trials = 3000
        for trial in 0..<trials {
            // Offsets from -1000 to 1000 (or tiny ones), spans from 1e-6 to 1e7.
            let a = trial % 3 == 0 ? Double(rng.next() % 2000) * 1e-9 : Double(rng.next() % 2_000_000) / 1000 - 1000
            let span = pow(10, Double(rng.next() % 14) - 6) * (1 + Double(rng.next() % 1000) / 100)
            let b = a + span
            let ticks = LinePlot.niceTicks(lo: a, hi: b)
            if !(4...6).contains(ticks.values.count) { outside4to6 += 1 }
            XCTAssertTrue((3...8).contains(ticks.values.count), "\(ticks.values.count) ticks for \(a)...\(b)")
            XCTAssertEqual(ticks.labels.count, ticks.values.count)
            XCTAssertEqual(Set(ticks.labels).count, ticks.labels.count, "duplicate labels \(ticks.labels) for \(a)...\(b)")
            // The range only ever grows, by at most 6% of the span per end, and holds every tick.
            XCTAssertTrue(ticks.lo <= a && ticks.lo >= a - 0.06 * span * (1 + 1e-9), "lo \(ticks.lo) for \(a)...\(b)")
            XCTAssertTrue(ticks.hi >= b && ticks.hi <= b + 0.06 * span * (1 + 1e-9), "hi \(ticks.hi) for \(a)...\(b)")
            let tolerance = span * 1e-6 + max(abs(a), abs(b)) * 1e-12   // rounding at the ends
            for v in ticks.values {
                XCTAssertTrue(v >= ticks.lo - tolerance && v <= ticks.hi + tolerance, "tick \(v) outside \(ticks.lo)...\(ticks.hi)")
            }
            // Labels parse back to the tick values (to the label's precision).
            XCTAssertEqual(ticks.labels.count, ticks.values.count, "one label per tick")
            for (v, label) in zip(ticks.values, ticks.labels) {
                guard let parsed = Double(label) else { XCTFail("unparsable label \(label)"); continue }
                XCTAssertEqual(parsed, v, accuracy: span * 1e-3 + abs(v) * 1e-12, "label \(label) for \(v)")
            }
            // Step is 1, 2, 2.5 or 5 times a power of ten.
            if ticks.values.count >= 2 {
                let step = ticks.values[1] - ticks.values[0]
                let e = floor(log10(step))
                let m = step / pow(10, e)
                XCTAssertTrue([1, 2, 2.5, 5, 10].contains { abs($0 - m) < 1e-6 }, "step \(step)")
            }
        }
        XCTAssertLessThan(outside4to6, trials / 50, "too many ranges without 4-6 ticks")
        let t = LinePlot.niceTicks(lo: 91.75, hi: 163.25)
        XCTAssertEqual(t.values, [100, 120, 140, 160])
        XCTAssertEqual(t.labels, ["100", "120", "140", "160"])
        XCTAssertEqual(LinePlot.niceTicks(lo: -0.1, hi: 1.1).labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(LinePlot.niceTicks(lo: 0, hi: 1).labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(LinePlot.niceTicks(lo: -0.1, hi: 1.1).labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(LinePlot.niceTicks(lo: 0.9, hi: 11.1).labels, ["2", "4", "6", "8", "10"])
        XCTAssertEqual(LinePlot.niceTicks(lo: -2.2, hi: 2.2).labels, ["-2", "-1", "0", "1", "2"])   // no "-0"
        // No step gives 4-6 ticks, even widened by 6%: 7 ticks of 1 beat 3 ticks of 2.
        XCTAssertEqual(LinePlot.niceTicks(lo: 0.5, hi: 7.4).labels, ["1", "2", "3", "4", "5", "6", "7"])
        // Widening: 3 ticks of 10 inside 91..129, but 90..130 (ends moved by 1 = 2.6%) gives 5.
        let widened = LinePlot.niceTicks(lo: 91, hi: 129)
        XCTAssertEqual(widened.labels, ["90", "100", "110", "120", "130"])
        XCTAssertEqual(widened.lo, 90)
        XCTAssertEqual(widened.hi, 130)
        XCTAssertEqual(LinePlot.niceTicks(lo: 1e-5, hi: 3e-5).labels.first, "1.0e-5")
        XCTAssertEqual(LinePlot.niceTicks(lo: 1, hi: 1).values, [])
        XCTAssertEqual(LinePlot.niceTicks(lo: .nan, hi: 1).values, [])
    }

    func testPaddedRange() {
        let r = LinePlot.paddedRange([10, 20])
        XCTAssertEqual(r.lo, 9.5, accuracy: 1e-12)
        XCTAssertEqual(r.hi, 20.5, accuracy: 1e-12)
        XCTAssertTrue(LinePlot.paddedRange([]) == (0, 1))
        XCTAssertTrue(LinePlot.paddedRange([5, 5]) == (4.5, 5.5))
        XCTAssertTrue(LinePlot.paddedRange([-250]) == (-300, -200))
        XCTAssertTrue(LinePlot.paddedRange([0, 0]) == (-1, 1))
        let nearlyFlat = LinePlot.paddedRange([1, 1 + 1e-15])
        XCTAssertLessThan(nearlyFlat.lo, 0.9)
        XCTAssertGreaterThan(nearlyFlat.hi, 1.1)
        // A single value always gets 4-6 ticks.
        for v in [0.0, 3, 7, -0.02, 123.4, 5e-7, 9.99e8] {
            let r = LinePlot.paddedRange([v])
            XCTAssertTrue(r.lo < v && v < r.hi, "\(v)")
            XCTAssertTrue((4...6).contains(LinePlot.niceTicks(lo: r.lo, hi: r.hi).values.count), "ticks around \(v)")
        }
        let huge = LinePlot.paddedRange([-1e308, 1e308])
        XCTAssertTrue(huge.lo.isFinite && huge.hi.isFinite)
    }
}
