import Foundation
import AnomalyMetrics

/// Small inline SVG charts for the report: line charts in the unit square (ROC, precision-recall)
/// and overlaid histograms. Text is escaped; numbers have at most 1 decimal in pixel space.
enum SVGChart {
    static let width = 360.0, height = 280.0
    static let left = 48.0, right = 22.0, top = 28.0, bottom = 40.0
    static var plotWidth: Double { width - left - right }
    static var plotHeight: Double { height - top - bottom }

    struct Series {
        var name: String
        var color: String
        var points: [CurvePoint]
    }

    struct Bars {
        var name: String
        var color: String
        var counts: [Int]
    }

    /// A line chart with both axes on [0, 1].
    static func lines(id: String, title: String, xLabel: String, yLabel: String, series: [Series], diagonal: Bool = false) -> String {
        var body = frame(id: id, title: title, xLabel: xLabel, yLabel: yLabel,
                         xTicks: ticks(0, 1), yTicks: ticks(0, 1), xRange: 0...1, yRange: 0...1)
        if diagonal {
            body += "<line x1=\"\(fmt(x(0, 0...1)))\" y1=\"\(fmt(y(0, 0...1)))\" x2=\"\(fmt(x(1, 0...1)))\" y2=\"\(fmt(y(1, 0...1)))\" class=\"diag\"/>"
        }
        for s in series {
            let d = s.points.enumerated().map { k, p in (k == 0 ? "M" : "L") + fmt(x(p.x, 0...1)) + " " + fmt(y(p.y, 0...1)) }.joined()
            body += "<path class=\"curve\" d=\"\(d)\" stroke=\"\(s.color)\"><title>\(escape(s.name))</title></path>"
        }
        body += legend(series.map { ($0.name, $0.color) })
        return body + "</svg>"
    }

    /// Overlaid histograms over [lower, upper], with an optional vertical marker (the threshold).
    static func histogram(id: String, title: String, xLabel: String, lower: Double, upper: Double, bars: [Bars],
                          marker: (value: Double, label: String)?) -> String {
        let maxCount = max(1, bars.flatMap(\.counts).max() ?? 1)
        let yRange = 0...Double(maxCount)
        let xRange = lower...upper
        var body = frame(id: id, title: title, xLabel: xLabel, yLabel: "images",
                         xTicks: ticks(lower, upper), yTicks: integerTicks(maxCount), xRange: xRange, yRange: yRange)
        for b in bars {
            let n = b.counts.count
            let binWidth = (upper - lower) / Double(n)
            for (i, c) in b.counts.enumerated() where c > 0 {
                let x0 = x(lower + Double(i) * binWidth, xRange), x1 = x(lower + Double(i + 1) * binWidth, xRange)
                let y0 = y(Double(c), yRange)
                body += "<rect x=\"\(fmt(x0))\" y=\"\(fmt(y0))\" width=\"\(fmt(max(0.5, x1 - x0 - 0.5)))\" height=\"\(fmt(y(0, yRange) - y0))\" fill=\"\(b.color)\" class=\"bar\"><title>\(escape(b.name)): \(c)</title></rect>"
            }
        }
        if let marker, marker.value >= lower, marker.value <= upper {
            let mx = fmt(x(marker.value, xRange))
            body += "<line x1=\"\(mx)\" y1=\"\(fmt(top))\" x2=\"\(mx)\" y2=\"\(fmt(top + plotHeight))\" class=\"marker\"><title>\(escape(marker.label))</title></line>"
        }
        body += legend(bars.map { ($0.name, $0.color) } + (marker.map { [($0.label, "#222")] } ?? []))
        return body + "</svg>"
    }

    // MARK: - parts

    private static func frame(id: String, title: String, xLabel: String, yLabel: String, xTicks: [Double], yTicks: [Double],
                              xRange: ClosedRange<Double>, yRange: ClosedRange<Double>) -> String {
        var s = "<svg id=\"\(escape(id))\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
        s += "<text x=\"\(fmt(width / 2))\" y=\"18\" class=\"title\">\(escape(title))</text>"
        s += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotWidth))\" height=\"\(fmt(plotHeight))\" class=\"plot\"/>"
        for t in xTicks {
            let px = fmt(x(t, xRange))
            s += "<line x1=\"\(px)\" y1=\"\(fmt(top))\" x2=\"\(px)\" y2=\"\(fmt(top + plotHeight))\" class=\"grid\"/>"
            s += "<text x=\"\(px)\" y=\"\(fmt(top + plotHeight + 14))\" class=\"tick\">\(tickLabel(t))</text>"
        }
        for t in yTicks {
            let py = fmt(y(t, yRange))
            s += "<line x1=\"\(fmt(left))\" y1=\"\(py)\" x2=\"\(fmt(left + plotWidth))\" y2=\"\(py)\" class=\"grid\"/>"
            s += "<text x=\"\(fmt(left - 4))\" y=\"\(py)\" class=\"tick y\">\(tickLabel(t))</text>"
        }
        s += "<text x=\"\(fmt(left + plotWidth / 2))\" y=\"\(fmt(height - 6))\" class=\"axis\">\(escape(xLabel))</text>"
        s += "<text x=\"12\" y=\"\(fmt(top + plotHeight / 2))\" class=\"axis\" transform=\"rotate(-90 12 \(fmt(top + plotHeight / 2)))\">\(escape(yLabel))</text>"
        return s
    }

    /// Entries at the plot's top right, on a translucent white box wide enough for the longest
    /// name (about 6 px a character at 11 px), so curves under it stay visible but do not cross the text.
    private static func legend(_ entries: [(String, String)]) -> String {
        guard !entries.isEmpty else { return "" }
        let textWidth = Double(entries.map(\.0.count).max()!) * 6.2
        let x0 = left + plotWidth - textWidth - 24
        var s = "<rect x=\"\(fmt(x0 - 4))\" y=\"\(fmt(top + 2))\" width=\"\(fmt(textWidth + 26))\" height=\"\(fmt(Double(entries.count) * 14 + 6))\" fill=\"#fff\" fill-opacity=\"0.85\"/>"
        for (k, (name, color)) in entries.enumerated() {
            let ly = top + 12 + Double(k) * 14
            s += "<rect x=\"\(fmt(x0))\" y=\"\(fmt(ly - 8))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            s += "<text x=\"\(fmt(x0 + 14))\" y=\"\(fmt(ly + 1))\" class=\"legend\">\(escape(name))</text>"
        }
        return s
    }

    private static func x(_ v: Double, _ r: ClosedRange<Double>) -> Double {
        left + (v - r.lowerBound) / (r.upperBound - r.lowerBound) * plotWidth
    }

    private static func y(_ v: Double, _ r: ClosedRange<Double>) -> Double {
        top + plotHeight - (v - r.lowerBound) / (r.upperBound - r.lowerBound) * plotHeight
    }

    private static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        (0...4).map { lo + (hi - lo) * Double($0) / 4 }
    }

    private static func integerTicks(_ maxCount: Int) -> [Double] {
        let step = max(1, Int((Double(maxCount) / 4).rounded(.up)))
        return stride(from: 0, through: maxCount, by: step).map(Double.init)
    }

    private static func tickLabel(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        return String(format: "%.3g", v)
    }

    static func fmt(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(format: "%.1f", r)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
