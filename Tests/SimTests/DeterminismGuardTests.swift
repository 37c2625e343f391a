import Foundation
import Testing

/// Design section 4: simulated code must not reach for clocks, system randomness, hashing
/// seeded per process, concurrency or the environment. This test scans the sources and names
/// every offending line.
@Suite("Determinism guard")
struct DeterminismGuardTests {
    static let guardedFolders = ["Sources/Determinism", "Sources/Sim", "Sources/Core", "Sources/FakeLLM", "Sources/Checks", "Sources/Scenarios"]

    static let banned: [(pattern: String, why: String)] = [
        (#"\bDate\(|Date\.now|\bDate\.init"#, "reads the wall clock"),
        (#"UUID\(\)"#, "draws system randomness"),
        (#"SystemRandomNumberGenerator|arc4random|drand48|\bgetrandom\b"#, "draws system randomness"),
        (#"\.random\(in:|\.shuffled\(|\.shuffle\(|\.randomElement\("#, "uses the standard library's random algorithms"),
        (#"Task\.sleep|Task\.detached|\bTask\s*\{"#, "spawns or sleeps"),
        (#"\bDispatch[A-Z]\w*|import Dispatch\b"#, "uses Dispatch"),
        (#"\bThread\.|pthread_"#, "uses threads"),
        (#"ProcessInfo|getenv\(|environment\["#, "reads the environment"),
        (#"\.hashValue|\bHasher\("#, "uses the per-process seeded hash"),
        (#"ContinuousClock|SuspendingClock|clock_gettime|gettimeofday|DispatchTime"#, "reads a real clock"),
    ]

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test("simulated code uses none of the banned APIs")
    func noBannedAPIsInSimulatedCode() throws {
        let compiled = try Self.banned.map { (try Regex($0.pattern), $0.why) }
        var hits: [String] = []
        var scanned = 0
        for folder in Self.guardedFolders {
            let root = Self.packageRoot.appendingPathComponent(folder)
            guard let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in files where file.pathExtension == "swift" {
                scanned += 1
                let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
                for (number, line) in lines.enumerated() {
                    let code = line.trimmingCharacters(in: .whitespaces)
                    if code.hasPrefix("//") { continue }
                    for (regex, why) in compiled where code.contains(regex) {
                        let relative = file.path.replacingOccurrences(of: Self.packageRoot.path + "/", with: "")
                        hits.append("\(relative):\(number + 1): \(why): \(code)")
                    }
                }
            }
        }
        #expect(scanned > 10, "the guard scanned \(scanned) files; is the package root right?")
        #expect(hits.isEmpty, "banned APIs in simulated code:\n\(hits.joined(separator: "\n"))")
    }

    @Test("the guard catches a banned line")
    func guardCatchesABannedLine() throws {
        let samples = ["let now = Date()", "var g = SystemRandomNumberGenerator()", "Task { await x() }", "x.hashValue", "[1].shuffled()"]
        for sample in samples {
            let caught = try Self.banned.contains { sample.contains(try Regex($0.pattern)) }
            #expect(caught, "not caught: \(sample)")
        }
    }
}
