import Foundation

/// A long-running `agentos` child (a `serve`, a `fake-llm`) that prints a line when it is ready.
public final class ChildProcess {
    public let name: String
    let arguments: [String]
    /// What runs: this binary, or a launcher (`ip netns exec NS binary`) that execs it.
    private let executable: URL
    private let launcherArguments: [String]
    private(set) var process: Process
    /// What the child printed up to its ready line.
    public private(set) var banner = ""
    private let readyMarker: String
    private let log: FileHandle?

    /// Starts the child and waits (up to `timeout` seconds) for `readyMarker` on its output.
    public init(
        name: String, arguments: [String], readyMarker: String, log: String? = nil, timeout: TimeInterval = 30,
        launcher: (executable: URL, prefix: [String])? = nil
    ) throws {
        self.name = name
        self.arguments = arguments
        executable = launcher?.executable ?? Self.binary
        launcherArguments = launcher?.prefix ?? []
        self.readyMarker = readyMarker
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            self.log = FileHandle(forWritingAtPath: log)
            self.log?.seekToEndOfFile()
        } else {
            self.log = nil
        }
        process = Process()
        try start(timeout: timeout)
    }

    public static var binary: URL { URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath() }

    private func start(timeout: TimeInterval) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = launcherArguments + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = log ?? FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while !text.contains(readyMarker), Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        banner = text
        guard text.contains(readyMarker) else {
            process.terminate()
            throw ClusterTestError("\(name) did not start: \(text.isEmpty ? "no output" : text)")
        }
    }

    /// The first `http://host:port` the child printed.
    public var url: String? {
        banner.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "(" || $0 == ")" }).first { $0.hasPrefix("http://") }.map(String.init)
    }

    public var isRunning: Bool { process.isRunning }

    public func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// A real SIGKILL: no shutdown code runs.
    public func killNow() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The same arguments again: a new incarnation.
    public func restart() throws {
        killNow()
        try start(timeout: 30)
    }

    /// SIGTERM (the graceful path), then SIGKILL if it does not exit within `grace` seconds.
    public func stop(grace: TimeInterval = 10) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        killNow()
    }

    deinit { stop(grace: 2) }
}
