import Foundation
import Testing

@testable import Campaigns
@testable import Mutation

/// Chromium from Debian's packages (`chromium-headless-shell` or `chromium`), if installed.
private let browser: String? = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium", "/usr/bin/chromium-browser"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }
/// CI installs the browser and sets this, so the page test cannot skip there.
private let browserRequired = ProcessInfo.processInfo.environment["AGENTOS_REQUIRE_BROWSER"] == "1"

private func sampleReport() -> MutationReport {
    func mutant(_ id: Int, _ op: MutationOperator) -> Mutant {
        Mutant(
            id: id, key: "Roles/Gateway.swift/Gateway.receive/\(op.rawValue)/\(id)#1", file: "Roles/Gateway.swift", line: 100 + id, column: 5,
            function: "Gateway.receive", mutationOperator: op, before: "        if a < b { x() }", after: "        if a <= b { x() }")
    }
    var report = MutationReport(
        target: "Core", sourceDigest: "d", operators: MutationOperator.allCases, budget: MutationBudget(scenarios: ["smoke"], seedsPerScenario: 1, swarmSeeds: 2),
        shard: nil, uncompilable: [mutant(9, .dropCall)], faithfulRuns: 3, comparedRuns: 3,
        results: [
            MutantResult(mutant: mutant(1, .relaxComparison), status: .killed, killedBy: ["fencing", "exactly once"], killingRun: "smoke@1", runs: 1, cpuSeconds: 0.2),
            MutantResult(mutant: mutant(2, .dropEffect), status: .killed, killedBy: ["liveness"], killingRun: "swarm@2", runs: 3, cpuSeconds: 0.9),
            MutantResult(mutant: mutant(3, .earlyReturn), status: .timedOut, killedBy: ["timeout"], runs: 1, cpuSeconds: 0),
            MutantResult(mutant: mutant(4, .swapEffects), status: .survived, runs: 3, cpuSeconds: 1.1),
            MutantResult(mutant: mutant(5, .dropAssignment), status: .survived, runs: 3, cpuSeconds: 1.0),
        ], wallSeconds: 2)
    report.apply(MutationAllowlist(reasons: ["Roles/Gateway.swift/Gateway.receive/drop-assignment/5#1": "the field is rewritten before any read <script>"]))
    return report
}

@Test func thePageIsOneFileWithNothingFetched() throws {
    let page = try MutationHTML(report: sampleReport()).render()
    #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("src="))
    #expect(page.contains("&lt;script&gt;"))  // a reason is text, never markup
    #expect(page.components(separatedBy: "class=\"mutant-row").count - 1 == 5)
}

@Test(.enabled(if: browser != nil || browserRequired, "no Chromium installed (apt-get install chromium-headless-shell)"))
func theReportPageRendersInARealBrowserAndItsNumbersMatchTheJSON() throws {
    let browser = try #require(browser, "CI requires Chromium for the report page test")
    let report = sampleReport()
    let page = FileManager.default.temporaryDirectory.appendingPathComponent("mutate-report-\(getpid()).html")
    defer { try? FileManager.default.removeItem(at: page) }
    try MutationHTML(report: report).render().write(to: page, atomically: true, encoding: .utf8)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: browser)
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.absoluteString]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)

    // The script ran, and found the printed score and rows consistent with the embedded JSON.
    #expect(dom.contains("<body data-ready=\"1\">"), "the page's script did not finish:\n\(dom.prefix(400))")
    #expect(dom.contains("consistent: score \(String(format: "%.1f", report.score)), 5 matrix rows, 5 mutants"))
    // The printed figures are the report's.
    let json = try JSONDecoder().decode(MutationReport.self, from: try JSONEncoder().encode(report))
    func value(_ id: String) -> String? {
        guard let range = dom.range(of: "id=\"\(id)\" data-value=\"") else { return nil }
        return String(dom[range.upperBound...].prefix { $0 != "\"" })
    }
    #expect(value("score") == String(format: "%.1f", json.score))
    #expect(value("killed") == String(json.kills))
    #expect(value("scored") == String(json.scored))
    #expect(value("survived") == String(json.survivors.count))
    #expect(value("equivalent") == String(json.count(.equivalent)))
    #expect(value("uncompilable") == "1")
    #expect(dom.components(separatedBy: "class=\"fired\"").count - 1 == 4)  // fencing, exactly once, liveness, timeout
    #expect(dom.contains("data-id=\"4\"") && dom.contains("<h2>Survivors</h2>"))
}
