import Foundation
import Mutation

/// Generates a target's mutant schemata under `.build-mutants/` and builds `agentos` from them
/// in one `swift build`. A mutant the compiler rejects is left out (and counted) and the
/// build tried again; the binary is copied aside so later builds cannot change it mid-run.
public struct SchemataBuild: Sendable {
    public var packageRoot: URL
    public var target: String
    public var generator: SchemataGenerator
    public var configuration: String
    public var log: @Sendable (String) -> Void

    public init(packageRoot: URL, target: String, generator: SchemataGenerator, configuration: String, log: @escaping @Sendable (String) -> Void) {
        self.packageRoot = packageRoot
        self.target = target
        self.generator = generator
        self.configuration = configuration
        self.log = log
    }

    public var workDirectory: URL { packageRoot.appendingPathComponent(".build-mutants") }
    public var generatedSources: URL { workDirectory.appendingPathComponent("sources/\(target)") }
    public var sources: URL { packageRoot.appendingPathComponent("Sources/\(target)") }
    public var manifestFile: URL { workDirectory.appendingPathComponent("\(target)-\(configuration)-manifest.json") }
    public var binary: URL { workDirectory.appendingPathComponent("agentos-\(target)-\(configuration)") }
    static let attemptsMax = 6

    /// The manifest and the schemata binary: the build is reused when it was made from exactly
    /// these schemata, else made.
    public func prepare() throws -> MutantManifest {
        guard FileManager.default.fileExists(atPath: packageRoot.appendingPathComponent("Package.swift").path) else {
            throw CampaignError("no Package.swift in \(packageRoot.path): run mutate from the package's root")
        }
        guard FileManager.default.fileExists(atPath: sources.path) else {
            throw CampaignError("no target sources at \(sources.path) (--target names a folder under Sources/)")
        }
        // The schemata are generated every time (in about a second); the build is reused when
        // they are exactly those it was made from, whatever changed in this tool meanwhile.
        let stored = FileManager.default.contents(atPath: manifestFile.path).flatMap { try? JSONDecoder().decode(StoredManifest.self, from: $0) }
        if let stored, FileManager.default.fileExists(atPath: binary.path) {
            var again = generator
            again.excluded.formUnion(stored.manifest.uncompilable.map(\.key))
            var manifest = try again.generate(target: target, sources: sources, output: generatedSources)
            if manifest.schemataDigest == stored.manifest.schemataDigest {
                manifest.uncompilable = stored.manifest.uncompilable
                log("mutate: reusing the schemata build of \(target) (\(manifest.mutants.count) mutants; the schemata are unchanged)")
                return manifest
            }
        }
        var excluded = generator.excluded
        var rejected: [Mutant] = []
        for attempt in 1...Self.attemptsMax {
            var current = generator
            current.excluded = excluded
            var manifest = try current.generate(target: target, sources: sources, output: generatedSources)
            log("mutate: \(manifest.mutants.count) mutants in \(target); building the schemata (\(configuration), attempt \(attempt))")
            let (ok, output) = try build()
            if ok {
                try copyBinary()
                manifest.uncompilable = rejected
                let stored = StoredManifest(manifest: manifest)
                try JSONEncoder().encode(stored).write(to: manifestFile)
                return manifest
            }
            let culprits = try rejectedMutants(in: output, manifest: manifest)
            guard !culprits.isEmpty else {
                let tail = output.split(separator: "\n").suffix(30).joined(separator: "\n")
                throw CampaignError("the schemata build failed outside any mutant:\n\(tail)")
            }
            log("mutate: the compiler rejected \(culprits.count) mutants; leaving them out")
            rejected += culprits
            excluded.formUnion(culprits.map(\.key))
        }
        throw CampaignError("the schemata build still failed after \(Self.attemptsMax) attempts")
    }

    private struct StoredManifest: Codable {
        var manifest: MutantManifest
    }

    private func build() throws -> (Bool, String) {
        let (status, text) = try runProcess(
            "/usr/bin/env", ["swift", "build", "-c", configuration, "--product", "agentos"], directory: packageRoot,
            environment: ["AGENTOS_MUTATE_TARGET": target])
        try? text.write(to: workDirectory.appendingPathComponent("build.log"), atomically: true, encoding: .utf8)
        return (status == 0, text)
    }

    private func copyBinary() throws {
        let built = packageRoot.appendingPathComponent(".build/\(configuration)/agentos")
        let manager = FileManager.default
        if manager.fileExists(atPath: binary.path) { try manager.removeItem(at: binary) }
        try manager.copyItem(at: built, to: binary)
    }

    /// The mutants an error names: the switches on the nearest line at or above each error in
    /// a generated file.
    func rejectedMutants(in output: String, manifest: MutantManifest) throws -> [Mutant] {
        let prefix = generatedSources.standardizedFileURL.path + "/"
        var ids: Set<Int> = []
        var texts: [String: [Substring]] = [:]
        for line in output.split(separator: "\n") where line.contains(": error: ") {
            let location = line.split(separator: ":", maxSplits: 3)
            guard location.count >= 3, location[0].hasPrefix(prefix), let number = Int(location[1]) else { continue }
            let file = String(location[0].dropFirst(prefix.count))
            if texts[file] == nil {
                texts[file] = (try String(contentsOf: generatedSources.appendingPathComponent(file), encoding: .utf8))
                    .split(separator: "\n", omittingEmptySubsequences: false)
            }
            let lines = texts[file]!
            var index = min(number, lines.count) - 1
            while index >= 0, !lines[index].contains("__agentosMutant(") { index -= 1 }
            guard index >= 0 else { continue }
            for match in lines[index].matches(of: /__agentosMutant\((\d+)\)/) { if let id = Int(match.1) { ids.insert(id) } }
        }
        return manifest.mutants.filter { ids.contains($0.id) }
    }
}
