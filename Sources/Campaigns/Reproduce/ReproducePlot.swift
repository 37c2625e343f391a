import Foundation

/// One SVG bar chart per experiment: for each row, the reference's mean beside the simulated
/// mean with a whisker of one standard deviation over seeds. Plain SVG, opens in any browser.
public enum ReproducePlot {
    public static func write(_ report: ReproduceReport, to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for table in report.tables {
            let path = (folder as NSString).appendingPathComponent("\(table.experiment).svg")
            do {
                try svg(table, seeds: report.seeds).write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw CampaignError("cannot write the chart '\(path)': \(error.localizedDescription)")
            }
        }
    }

    public static func svg(_ table: ReproduceReport.Table, seeds: Int) -> String {
        let width = 140 + 150 * table.rows.count, height = 360
        let top = 50, bottom = 300, left = 70
        let highest = table.rows.map { max($0.referenceMean, $0.simulatedMean + $0.simulatedSpread) }.max() ?? 1
        let scale = Double(bottom - top) / (highest * 1.1)
        func y(_ value: Double) -> Int { bottom - Int(value * scale) }
        var parts: [String] = [
            ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(width)" height="\##(height)" font-family="sans-serif" font-size="12">"##,
            ##"<rect width="100%" height="100%" fill="white"/>"##,
            ##"<text x="\##(left)" y="24" font-size="14" font-weight="bold">\##(escape(table.experiment)): mean latency, reference vs simulated (\##(seeds) seeds, ± 1 sd)</text>"##,
            ##"<line x1="\##(left)" y1="\##(bottom)" x2="\##(width - 20)" y2="\##(bottom)" stroke="black"/>"##,
            ##"<line x1="\##(left)" y1="\##(top)" x2="\##(left)" y2="\##(bottom)" stroke="black"/>"##,
        ]
        // Axis ticks every round number of seconds.
        let step = [5.0, 10, 20, 25, 50, 100].first { highest * 1.1 / $0 <= 8 } ?? 100
        var tick = 0.0
        while tick <= highest * 1.1 {
            parts.append(##"<text x="\##(left - 8)" y="\##(y(tick) + 4)" text-anchor="end">\##(Int(tick)) s</text>"##)
            parts.append(##"<line x1="\##(left)" y1="\##(y(tick))" x2="\##(width - 20)" y2="\##(y(tick))" stroke="#ddd"/>"##)
            tick += step
        }
        for (index, row) in table.rows.enumerated() {
            let x = left + 30 + 150 * index
            parts.append(##"<rect x="\##(x)" y="\##(y(row.referenceMean))" width="50" height="\##(bottom - y(row.referenceMean))" fill="#999"><title>reference \##(String(format: "%.1f", row.referenceMean)) s</title></rect>"##)
            parts.append(##"<rect x="\##(x + 55)" y="\##(y(row.simulatedMean))" width="50" height="\##(bottom - y(row.simulatedMean))" fill="#3a78c2"><title>simulated \##(String(format: "%.1f ± %.1f", row.simulatedMean, row.simulatedSpread)) s</title></rect>"##)
            let low = y(max(0, row.simulatedMean - row.simulatedSpread)), high = y(row.simulatedMean + row.simulatedSpread)
            parts.append(##"<line x1="\##(x + 80)" y1="\##(low)" x2="\##(x + 80)" y2="\##(high)" stroke="black"/>"##)
            parts.append(##"<line x1="\##(x + 72)" y1="\##(high)" x2="\##(x + 88)" y2="\##(high)" stroke="black"/>"##)
            parts.append(##"<line x1="\##(x + 72)" y1="\##(low)" x2="\##(x + 88)" y2="\##(low)" stroke="black"/>"##)
            parts.append(##"<text x="\##(x + 52)" y="\##(bottom + 18)" text-anchor="middle">\##(escape(row.row))</text>"##)
            let ratio = row.baseline ? "baseline" : String(format: "ratio %.2f vs %.2f", row.simulatedRatio, row.referenceRatio)
            parts.append(##"<text x="\##(x + 52)" y="\##(bottom + 34)" text-anchor="middle" fill="#555">\##(ratio)</text>"##)
        }
        parts.append(##"<rect x="\##(left)" y="\##(height - 22)" width="12" height="12" fill="#999"/><text x="\##(left + 16)" y="\##(height - 12)">reference (one run)</text>"##)
        parts.append(##"<rect x="\##(left + 160)" y="\##(height - 22)" width="12" height="12" fill="#3a78c2"/><text x="\##(left + 176)" y="\##(height - 12)">simulated (mean over seeds)</text>"##)
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
