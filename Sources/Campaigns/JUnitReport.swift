import Checks
import Foundation

/// JUnit XML, as CI pages show it: one test case per run and checker, so a page says which
/// invariant a run broke and what each checker examined.
public struct JUnitReport {
    private var cases: [String] = []
    public private(set) var failures = 0

    public init() {}

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// One case per checker of one run; `firstViolation` is the text of the run's first
    /// violation of an invariant, if it has one; `rerun` is how to run it again.
    public mutating func add(run classname: String, checks: [CheckVerdict], firstViolation: (Int) -> String?, rerun: String) {
        let escaped = Self.escape(classname)
        for check in checks {
            var xml = "  <testcase classname=\"\(escaped)\" name=\"\(check.invariant) \(Self.escape(check.name))\">\n"
            if !check.passed {
                failures += 1
                xml += "    <failure message=\"\(check.violations) violation(s) \(Self.escape(firstViolation(check.invariant) ?? ""))\">\(Self.escape(rerun))</failure>\n"
            } else if !check.ran {
                xml += "    <skipped message=\"\(Self.escape(check.evidence))\"/>\n"
            }
            xml += "    <system-out>\(Self.escape(check.evidence))</system-out>\n  </testcase>\n"
            cases.append(xml)
        }
    }

    /// A run that produced no verdicts (it crashed, or could not be read): one failing case.
    public mutating func add(failedRun classname: String, message: String, rerun: String) {
        failures += 1
        cases.append(
            "  <testcase classname=\"\(Self.escape(classname))\" name=\"run\">\n    <failure message=\"\(Self.escape(message))\">\(Self.escape(rerun))</failure>\n  </testcase>\n")
    }

    public func write(name: String, to path: String) throws {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuite name=\"\(Self.escape(name))\" tests=\"\(cases.count)\" failures=\"\(failures)\">\n"
        xml += cases.joined()
        xml += "</testsuite>\n"
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// One test suite of every report's test cases (the shards' reports of `explore --junit`).
    public static func merge(_ files: [String], into path: String, name: String) throws {
        var cases = "", tests = 0, failures = 0
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8), let open = text.range(of: "<testsuite "),
                let head = text.range(of: ">", range: open.upperBound..<text.endIndex), let close = text.range(of: "</testsuite>", options: .backwards)
            else { throw CampaignError("'\(file)' is not a JUnit report of `agentos explore --junit`") }
            let attributes = String(text[open.upperBound..<head.lowerBound])
            tests += attribute("tests", in: attributes)
            failures += attribute("failures", in: attributes)
            cases += text[head.upperBound..<close.lowerBound].trimmingCharacters(in: .newlines) + "\n"
        }
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"\(escape(name))\" tests=\"\(tests)\" failures=\"\(failures)\">\n\(cases)</testsuite>\n"
        do {
            try xml.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CampaignError("cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    static func attribute(_ name: String, in attributes: String) -> Int {
        guard let start = attributes.range(of: "\(name)=\"") else { return 0 }
        return Int(attributes[start.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}

extension JUnitReport {
    /// One run's test cases: one per checker, or one failed case for a run that crashed.
    mutating func add(_ result: SeedResult, classname: String, rerun: String) {
        guard let checks = result.checks else {
            add(failedRun: classname, message: result.firstViolation ?? "failed", rerun: rerun)
            return
        }
        add(run: classname, checks: checks, firstViolation: { result.invariants.first == $0 ? result.firstViolation : nil }, rerun: rerun)
    }
}
