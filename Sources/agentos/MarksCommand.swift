import ArgumentParser
import Checks
import Foundation
import Scenarios

/// `agentos marks`: the registry of named protocol moments a sweep reports on.
struct MarksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "marks",
        abstract: "List the marks: the named protocol moments `explore` counts and `--require-marks` demands.",
        discussion: "With --scenario, the marks that scenario is meant to reach (what CI requires of it)."
    )

    @Option(help: "List only the marks this named scenario is meant to reach.")
    var scenario: String?

    @Flag(help: "Print as JSON.")
    var json = false

    func run() throws {
        var marks = Mark.allCases
        if let scenario {
            guard let required = ScenarioLibrary.requiredMarks(scenario) else {
                throw CLIError("unknown scenario '\(scenario)' (see `agentos scenarios list`)")
            }
            marks = required
        }
        if json {
            printJSON(marks.map { ["name": $0.name, "summary": $0.summary] })
        } else {
            for mark in marks { print("\(mark.name.padding(toLength: 29, withPad: " ", startingAt: 0)) \(mark.summary)") }
        }
    }
}
