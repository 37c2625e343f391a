import Foundation

/// A one-line progress bar on standard error, redrawn at most every 1%.
public struct ProgressBar {
    public let total: Int
    public let label: String
    public let enabled: Bool
    private var lastPercent = -1

    public init(total: Int, label: String, enabled: Bool = isatty(2) != 0) {
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
    }

    public mutating func update(_ done: Int, note: String = "") {
        guard enabled else { return }
        let percent = done * 100 / total
        guard percent != lastPercent else { return }
        lastPercent = percent
        let width = 30
        let filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total) \(note)".utf8))
    }

    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

/// Wall-clock seconds of `body`. Only campaigns and the CLI read real clocks; the simulated
/// code never does.
public func measure<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let clock = ContinuousClock()
    var result: T?
    let elapsed = try clock.measure { result = try body() }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (result!, seconds)
}

/// Peak resident memory of this process (VmHWM), in bytes; nil where /proc is missing.
public func peakResidentBytes() -> UInt64? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let digits = line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }
        return digits.map { $0 * 1024 }
    }
    return nil
}

public func formatBytes(_ bytes: UInt64?) -> String {
    guard let bytes else { return "n/a" }
    return String(format: "%.1f MiB", Double(bytes) / 1_048_576)
}
