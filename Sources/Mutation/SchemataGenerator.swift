import Foundation
import SwiftOperators
import SwiftParser
import SwiftSyntax

/// Turns a target's sources into mutant schemata: the same files with every mutant behind a
/// run-time switch, plus the switch itself, read once from `AGENTOS_MUTANT`.
public struct SchemataGenerator: Sendable {
    public var operators: Set<MutationOperator>
    /// Mutants left out by key (those the compiler rejected in an earlier attempt).
    public var excluded: Set<String>
    public var effectsName: String

    public init(operators: Set<MutationOperator> = Set(MutationOperator.allCases), excluded: Set<String> = [], effectsName: String = "effects") {
        self.operators = operators
        self.excluded = excluded
        self.effectsName = effectsName
    }

    /// The generated file that holds the switch. Its name sorts first and cannot clash with a
    /// target's own file.
    public static let switchFileName = "__AgentOSMutantSwitch.swift"
    public static let environmentVariable = "AGENTOS_MUTANT"

    /// One file's mutants (numbered from `firstID`) and its schemata text.
    public func mutate(file: String, text: String, firstID: Int) -> (mutants: [Mutant], schemata: String) {
        let tree = Parser.parse(source: text)
        let folded = OperatorTable.standardOperators.foldAll(tree) { _ in }
        let finder = SiteFinder(operators: operators, effectsName: effectsName)
        finder.walk(folded)
        let converter = SourceLocationConverter(fileName: file, tree: tree)
        // Number every site in the renderer's order; key each, then leave out the excluded.
        let ordered = SchemataRenderer(text: text, sites: finder.sites, firstID: 0)
        var occurrences: [String: Int] = [:]
        var kept: [MutationSite] = []
        var keys: [String] = []
        for (index, site) in ordered.sites.enumerated() {
            let snippet = ordered.source(site.range.isEmpty ? site.range.lowerBound..<min(site.range.lowerBound + 40, text.utf8.count) : site.range)
            let stem = "\(file)/\(site.function)/\(site.mutationOperator.rawValue)/\(fnv1a(snippet + "|" + ordered.direct(index)).prefix(8))"
            occurrences[stem, default: 0] += 1
            let key = "\(stem)#\(occurrences[stem]!)"
            guard !excluded.contains(key) else { continue }
            kept.append(site)
            keys.append(key)
        }
        let renderer = SchemataRenderer(text: text, sites: kept, firstID: firstID)
        var mutants: [Mutant] = []
        for (index, site) in renderer.sites.enumerated() {
            let location = converter.location(for: AbsolutePosition(utf8Offset: site.range.lowerBound))
            let (before, after) = renderer.diffLines(index)
            mutants.append(
                Mutant(
                    id: renderer.ids[index], key: keys[index], file: file, line: location.line, column: location.column, function: site.function,
                    mutationOperator: site.mutationOperator, before: before, after: after))
        }
        return (mutants, renderer.schemata())
    }

    /// Writes the schemata of every `.swift` file under `sources` (in path order) into
    /// `output`, which is emptied first, with the switch file; returns the manifest.
    public func generate(target: String, sources: URL, output: URL) throws -> MutantManifest {
        let files = try Self.swiftFiles(under: sources)
        guard !files.isEmpty else { throw MutationError("no Swift sources under \(sources.path)") }
        let manager = FileManager.default
        if manager.fileExists(atPath: output.path) { try manager.removeItem(at: output) }
        try manager.createDirectory(at: output, withIntermediateDirectories: true)
        var mutants: [Mutant] = []
        var digestInput = ""
        var schemataInput = ""
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            digestInput += file + "\n" + text
            let (found, schemata) = mutate(file: file, text: text, firstID: mutants.count + 1)
            mutants += found
            schemataInput += file + "\n" + schemata
            let destination = output.appendingPathComponent(file)
            try manager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try schemata.write(to: destination, atomically: true, encoding: .utf8)
        }
        let switchText = Self.switchSource(mutants: mutants.count)
        try switchText.write(to: output.appendingPathComponent(Self.switchFileName), atomically: true, encoding: .utf8)
        schemataInput += switchText
        var manifest = MutantManifest(target: target, sourceDigest: fnv1a(digestInput), mutants: mutants)
        manifest.schemataDigest = fnv1a(schemataInput)
        return manifest
    }

    static func swiftFiles(under root: URL) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root.path) else {
            throw MutationError("cannot read the source folder \(root.path)")
        }
        var files: [String] = []
        while let path = walker.nextObject() as? String {
            if path.hasSuffix(".swift") { files.append(path) }
        }
        return files.sorted()
    }

    public static let coverageVariable = "AGENTOS_MUTANT_COVERAGE"

    /// The switch: which mutant this process runs, read once, and (with
    /// `AGENTOS_MUTANT_COVERAGE=FILE`) which switches the process reached, appended to FILE at
    /// exit. Reading the environment is all the schemata add to the target; an unset or
    /// unparsable value means no mutant and no coverage.
    static func switchSource(mutants: Int) -> String {
        """
        // Generated by `agentos mutate`: the run-time switch of the mutant schemata.
        #if canImport(Glibc)
        import Glibc
        #elseif canImport(Darwin)
        import Darwin
        #endif

        let __agentosActiveMutant: Int = {
            guard let raw = getenv("\(environmentVariable)") else { return 0 }
            return Int(String(cString: raw)) ?? 0
        }()

        let __agentosMutantCount = \(mutants)

        /// One byte per switch, set when reached; nil unless coverage is asked for.
        nonisolated(unsafe) let __agentosMutantHits: UnsafeMutablePointer<UInt8>? = {
            guard getenv("\(coverageVariable)") != nil else { return nil }
            let hits = UnsafeMutablePointer<UInt8>.allocate(capacity: __agentosMutantCount + 1)
            hits.initialize(repeating: 0, count: __agentosMutantCount + 1)
            atexit { __agentosWriteCoverage() }
            return hits
        }()

        func __agentosWriteCoverage() {
            guard let path = getenv("\(coverageVariable)"), let hits = __agentosMutantHits, let file = fopen(path, "a") else { return }
            for id in 1...max(__agentosMutantCount, 1) where id <= __agentosMutantCount && hits[id] != 0 { fputs("\\(id)\\n", file) }
            fclose(file)
        }

        @inline(__always) func \(SchemataRenderer.switchName)(_ id: Int) -> Bool {
            if let hits = __agentosMutantHits { hits[id] = 1 }
            return __agentosActiveMutant == id
        }

        """
    }
}
