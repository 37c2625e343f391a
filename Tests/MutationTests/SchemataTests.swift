import Foundation
import SwiftParser
import SwiftSyntax
import Testing

@testable import Mutation

/// A role in miniature: a fence check, a guard, effects, a counter, an epoch bump, and the
/// places mutants must not go (an initializer, a precondition, a description, a sort).
private let roleSource = """
    struct Role {
        var epoch: Int64 = 0
        var attempts = 0
        var items: [Int] = []

        init(epoch: Int64) {
            self.epoch = epoch > 0 ? epoch : 0
        }

        var description: String { epoch > 1 ? "big" : "small" }

        mutating func handle(_ claim: Int64, into effects: inout [String]) {
            guard claim > epoch else { return }
            precondition(claim >= 0, "claims are never negative: \\(claim > 1)")
            epoch = claim + 1
            if attempts >= 3 {
                effects.append("give up")
            }
            effects.append("persist")
            effects.append("acknowledge")
            attempts += 1
            items = items.sorted { $0 < $1 }
            stop(into: &effects)
        }

        func stop(into effects: inout [String]) {
            effects.append("stopped \\(epoch == 2)")
        }
    }
    """

private func mutants(_ source: String = roleSource, operators: Set<MutationOperator> = Set(MutationOperator.allCases)) -> [Mutant] {
    SchemataGenerator(operators: operators).mutate(file: "Role.swift", text: source, firstID: 1).mutants
}

@Test func everyOperatorFindsItsSiteInAMiniatureRole() {
    let found = mutants()
    let byOperator = Dictionary(grouping: found, by: \.mutationOperator).mapValues(\.count)
    #expect(byOperator[.dropGuard] == 1)
    #expect(byOperator[.relaxComparison] == 2)  // claim > epoch, attempts >= 3
    #expect(byOperator[.offByOne] == 1)  // the 3
    #expect(byOperator[.reuseOld] == 1)  // claim + 1
    #expect(byOperator[.conditionTrue] == 1 && byOperator[.conditionFalse] == 1)
    #expect(byOperator[.dropEffect] == 4)
    #expect(byOperator[.swapEffects] == 1)  // persist and acknowledge
    #expect(byOperator[.dropCall] == 1)
    #expect(byOperator[.dropAssignment] == 3)  // epoch =, attempts +=, items =
    #expect(byOperator[.earlyReturn] == 2)  // handle and stop: both take inout effects
    #expect(byOperator[.negateEquality] == nil)  // the only == is inside a string
    #expect(found.map(\.id) == Array(1...found.count))
}

@Test func initializersPreconditionsDescriptionsAndSortsAreLeftAlone() {
    let lines = Set(mutants().map(\.line))
    #expect(!lines.contains(7))  // init
    #expect(!lines.contains(10))  // description
    #expect(!lines.contains(14))  // precondition
    let sortLine = mutants().first { $0.before.contains("sorted") }
    #expect(sortLine?.mutationOperator == .dropAssignment)  // the assignment, not the comparator
}

@Test func aMutantsDiffShowsTheMutatedLineAlone() throws {
    let guardMutant = try #require(mutants().first { $0.mutationOperator == .dropGuard })
    #expect(guardMutant.before.trimmingCharacters(in: .whitespaces) == "guard claim > epoch else { return }")
    #expect(guardMutant.after.trimmingCharacters(in: .whitespaces) == "guard true else { return }")
    let swap = try #require(mutants().first { $0.mutationOperator == .swapEffects })
    #expect(swap.diff.contains("+         effects.append(\"acknowledge\")\n+         effects.append(\"persist\")"))
    let dropped = try #require(mutants().first { $0.mutationOperator == .dropCall })
    #expect(dropped.after.isEmpty && dropped.diff == "-         stop(into: &effects)")
}

@Test func schemataNestEveryMutantAndStillParse() {
    let (found, schemata) = SchemataGenerator().mutate(file: "Role.swift", text: roleSource, firstID: 1)
    for mutant in found { #expect(schemata.contains("__agentosMutant(\(mutant.id))"), "mutant \(mutant.id) has no switch") }
    let tree = Parser.parse(source: schemata)
    #expect(!tree.hasError, "the schemata do not parse:\n\(schemata)")
    // The comparison in the if is inside the condition's switch, in both its copies.
    #expect(schemata.contains("(__agentosMutant(") && schemata.contains("if !__agentosMutant("))
}

@Test func theSchemataOfEveryCoreFileParse() throws {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("mutation-tests-\(getpid())")
    defer { try? FileManager.default.removeItem(at: output) }
    let manifest = try SchemataGenerator().generate(target: "Core", sources: URL(fileURLWithPath: "Sources/Core"), output: output)
    #expect(manifest.mutants.count >= 150)
    let files = try FileManager.default.subpathsOfDirectory(atPath: output.path).filter { $0.hasSuffix(".swift") }
    #expect(files.contains(SchemataGenerator.switchFileName))
    for file in files {
        let text = try String(contentsOf: output.appendingPathComponent(file), encoding: .utf8)
        #expect(!Parser.parse(source: text).hasError, "\(file) does not parse")
    }
    #expect(Set(manifest.mutants.map(\.key)).count == manifest.mutants.count, "two mutants share a key")
}

@Test func keysSurviveEditsElsewhereInTheFileButLinesDoNot() {
    let before = mutants()
    let after = mutants("// a new first line\n\n" + roleSource)
    #expect(before.map(\.key) == after.map(\.key))
    #expect(zip(before, after).allSatisfy { $0.line + 2 == $1.line })
}

@Test func anExcludedKeyIsLeftOutAndTheRestRenumbered() {
    let all = mutants()
    let dropped = all[2]
    let generator = SchemataGenerator(excluded: [dropped.key])
    let (kept, schemata) = generator.mutate(file: "Role.swift", text: roleSource, firstID: 1)
    #expect(kept.count == all.count - 1)
    #expect(!kept.contains { $0.key == dropped.key })
    #expect(kept.map(\.id) == Array(1...kept.count))
    #expect(!schemata.contains("__agentosMutant(\(all.count))"))
}

@Test func operatorListsAreParsedAndUnknownNamesRefused() throws {
    #expect(try MutationOperator.parseList("drop-guard,reuse-old") == [.dropGuard, .reuseOld])
    #expect(try MutationOperator.parseList(nil) == MutationOperator.allCases)
    #expect(throws: MutationError.self) { try MutationOperator.parseList("drop-guard,flip-everything") }
    let onlyGuards = mutants(operators: [.dropGuard])
    #expect(onlyGuards.count == 1 && onlyGuards[0].mutationOperator == .dropGuard)
}
