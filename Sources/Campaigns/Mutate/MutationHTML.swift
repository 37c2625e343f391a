import Foundation
import Mutation

/// The report as one self-contained HTML page (no network, no external file): the score, the
/// kill matrix (mutant x checker), the operators, each survivor's diff and each equivalent's
/// reason. The page carries its JSON too; a small script checks its own numbers against it
/// and lets a reader filter the matrix.
public struct MutationHTML {
    public let report: MutationReport

    public init(report: MutationReport) { self.report = report }

    static func escape(_ text: String) -> String { JUnitReport.escape(text) }

    public func render() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self).replacingOccurrences(of: "</", with: "<\\/")
        let checkers = report.matrixSummary.map(\.checker)
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>agentos mutate: \(Self.escape(report.target))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
            th.checker { writing-mode: vertical-rl; transform: rotate(180deg); }
            td.fired { background: #4a4; color: #fff; text-align: center; }
            tr.survived td { background: #fdd; } tr.equivalent td { background: #eee; }
            pre { background: #f6f6f6; padding: 6px; overflow-x: auto; }
            .big { font-size: 2em; font-weight: bold; }
            </style></head>
            <body data-ready="0">
            <h1>Mutation report: \(Self.escape(report.target))</h1>
            <p class="big">score <span id="score" data-value="\(String(format: "%.1f", report.score))">\(String(format: "%.1f", report.score))%</span></p>
            <p><span id="killed" data-value="\(report.kills)">\(report.kills)</span> of <span id="scored" data-value="\(report.scored)">\(report.scored)</span> mutants killed
            (\(report.count(.killed)) by a checker, \(report.count(.crashed)) crashed, \(report.count(.timedOut)) timed out);
            <span id="equivalent" data-value="\(report.count(.equivalent))">\(report.count(.equivalent))</span> equivalent,
            <span id="survived" data-value="\(report.survivors.count)">\(report.survivors.count)</span> survived
            (<span id="not-reached" data-value="\(report.count(.notCovered))">\(report.count(.notCovered))</span> never reached by any run;
            \(report.knownSurvivors.count) on the known-survivors list),
            <span id="uncompilable" data-value="\(report.uncompilable.count)">\(report.uncompilable.count)</span> did not compile.
            At most \(report.budget.runs.count) runs per mutant; with the switch off \(report.faithfulRuns) of \(report.comparedRuns) trace hashes equal the original's.</p>
            <p>Checked by the page's script against its JSON: <span id="score-check">not run</span></p>
            <h2>Checkers</h2>
            <table id="checkers"><tr><th>checker</th><th>mutants it fired on</th><th>the only one firing</th></tr>

            """
        for (checker, mutants) in report.matrixSummary {
            page += "<tr data-checker=\"\(Self.escape(checker))\"><td>\(Self.escape(checker))</td><td class=\"count\">\(mutants)</td><td>\(report.soleKills(by: checker))</td></tr>\n"
        }
        page += "</table>\n<h2>Operators</h2>\n<table id=\"operators\"><tr><th>operator</th><th>mutants</th><th>killed</th><th>equivalent</th></tr>\n"
        for row in report.byOperator {
            page += "<tr><td title=\"\(Self.escape(row.op.summary))\">\(row.op.rawValue)</td><td>\(row.mutants)</td><td>\(row.kills)</td><td>\(row.equivalent)</td></tr>\n"
        }
        page += "</table>\n<h2>Files</h2>\n<table id=\"files\"><tr><th>file</th><th>mutants</th><th>killed</th><th>survived</th><th>never reached</th></tr>\n"
        for row in report.byFile {
            page += "<tr><td>\(Self.escape(row.file))</td><td>\(row.mutants)</td><td>\(row.kills)</td><td>\(row.survivors)</td><td>\(row.notReached)</td></tr>\n"
        }
        page += "</table>\n"
        page += survivorsSection()
        page += "<h2>Kill matrix</h2>\n<p><input id=\"filter\" placeholder=\"filter by file, operator or status\" size=\"40\"></p>\n"
        page += "<table id=\"matrix\"><tr><th>#</th><th>where</th><th>operator</th><th>status</th><th>runs</th><th>CPU-s</th>"
        page += checkers.map { "<th class=\"checker\">\(Self.escape($0))</th>" }.joined() + "</tr>\n"
        for result in report.results {
            let mutant = result.mutant
            page += "<tr class=\"mutant-row \(result.status.rawValue)\" data-id=\"\(mutant.id)\" data-status=\"\(result.status.rawValue)\">"
            page += "<td>\(mutant.id)</td><td>\(Self.escape("\(mutant.file):\(mutant.line)"))</td><td>\(mutant.mutationOperator.rawValue)</td>"
            page += "<td>\(result.status.rawValue)</td><td>\(result.runs)</td><td>\(String(format: "%.2f", result.cpuSeconds))</td>"
            for checker in checkers {
                let fired = result.status.isKill && result.killedBy.contains(checker)
                page += fired ? "<td class=\"fired\" data-checker=\"\(Self.escape(checker))\">x</td>" : "<td></td>"
            }
            page += "</tr>\n"
        }
        page += "</table>\n<script type=\"application/json\" id=\"report-json\">\(json)</script>\n"
        page += Self.script
        page += "</body></html>\n"
        return page
    }

    private func survivorsSection() -> String {
        var html = "<h2>Survivors</h2>\n"
        let survivors = report.survivors
        html += survivors.isEmpty ? "<p id=\"no-survivors\">None: every mutant was killed or is explained below.</p>\n" : ""
        for result in survivors {
            let mutant = result.mutant
            html += "<div class=\"survivor\" data-id=\"\(mutant.id)\"><h3>#\(mutant.id) \(Self.escape(mutant.file)):\(mutant.line) \(mutant.mutationOperator.rawValue) in \(Self.escape(mutant.function))</h3>\n"
            let how = result.status == .notCovered ? "no run of the budget reached it" : "passed \(result.runs) runs"
            let known = report.knownSurvivors.contains(mutant.key) ? " (a known survivor)" : ""
            html += "<p>key <code>\(Self.escape(mutant.key))</code>, \(how)\(known)</p><pre>\(Self.escape(mutant.diff))</pre></div>\n"
        }
        let equivalents = report.results.filter { $0.status == .equivalent }
        if !equivalents.isEmpty {
            html += "<h2>Equivalent (allowlisted)</h2>\n"
            for result in equivalents {
                let mutant = result.mutant
                html += "<div class=\"equivalent\" data-id=\"\(mutant.id)\"><h3>#\(mutant.id) \(Self.escape(mutant.file)):\(mutant.line) \(mutant.mutationOperator.rawValue)</h3>\n"
                html += "<p>\(Self.escape(result.reason ?? ""))</p><pre>\(Self.escape(mutant.diff))</pre></div>\n"
            }
        }
        return html
    }

    /// Recomputes the score from the embedded JSON (the browser test compares it with the
    /// printed one) and wires the filter.
    static let script = """
        <script>
        (function () {
          var report = JSON.parse(document.getElementById('report-json').textContent);
          var kills = 0, equivalent = 0;
          report.results.forEach(function (r) {
            if (r.status === 'killed' || r.status === 'crashed' || r.status === 'timed-out') kills++;
            if (r.status === 'equivalent') equivalent++;
          });
          var scored = report.results.length - equivalent;
          var score = scored === 0 ? 100 : kills * 100 / scored;
          var printed = parseFloat(document.getElementById('score').dataset.value);
          var rows = document.querySelectorAll('tr.mutant-row').length;
          var ok = Math.abs(score - printed) < 0.05 && rows === report.results.length;
          document.getElementById('score-check').textContent =
            (ok ? 'consistent' : 'INCONSISTENT') + ': score ' + score.toFixed(1) + ', ' + rows + ' matrix rows, ' + report.results.length + ' mutants';
          document.getElementById('filter').addEventListener('input', function (event) {
            var needle = event.target.value.toLowerCase();
            document.querySelectorAll('tr.mutant-row').forEach(function (row) {
              row.style.display = row.textContent.toLowerCase().indexOf(needle) >= 0 ? '' : 'none';
            });
          });
          document.body.dataset.ready = ok ? '1' : 'inconsistent';
        })();
        </script>

        """
}
