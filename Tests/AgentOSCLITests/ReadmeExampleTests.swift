import Checks
import Foundation
import Testing

/// The README's examples cannot rot: its shell tour runs (the offline commands, with the output
/// lines it shows), every flag it names still exists, and its Swift example is the body of a
/// test that compiles and runs.
@Suite("the README's examples")
struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Commands that need no server and finish in seconds: blocks made only of these are run.
    static let offline: Set<String> = ["run", "explore", "replay", "check", "shrink", "scenarios"]

    /// One `agentos` command of a shell block, with the status and output lines the README shows.
    struct Example {
        var arguments: [String]
        var status: Int32 = 0
        var output: [String] = []
    }

    /// The fenced blocks of one language, as lists of lines.
    static func blocks(_ language: String, in text: String) -> [[String]] {
        var result: [[String]] = []
        var current: [String]?
        for line in text.components(separatedBy: "\n") {
            if current == nil, line == "```\(language)" {
                current = []
            } else if current != nil, line == "```" {
                result.append(current!)
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return result
    }

    /// Shell words (single quotes group), up to an unquoted ` #` comment; the comment apart.
    static func words(_ line: String) -> (words: [String], comment: String?) {
        var words: [String] = [], word = "", quoted = false, started = false
        var characters = Array(line)[...]
        while let character = characters.popFirst() {
            if character == "'" {
                quoted.toggle()
                started = true
            } else if !quoted, character == "#", !started || word.isEmpty {
                return (words + (started ? [word] : []), String(characters).trimmingCharacters(in: .whitespaces))
            } else if !quoted, character == " " {
                if started { words.append(word) }
                (word, started) = ("", false)
            } else {
                word.append(character)
                started = true
            }
        }
        return (words + (started ? [word] : []), nil)
    }

    /// The block's lines as commands (continuations joined) with their shown output.
    static func commands(_ block: [String]) -> [(words: [String], comment: String?, output: [String])] {
        var result: [(words: [String], comment: String?, output: [String])] = []
        var pending = ""
        for line in block {
            if line.hasPrefix("#") {
                if line.hasPrefix("#   "), !result.isEmpty { result[result.count - 1].output.append(String(line.dropFirst(4))) }
                continue
            }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let parsed = words(pending + line)
            pending = ""
            if !parsed.words.isEmpty { result.append((parsed.words, parsed.comment, [])) }
        }
        return result
    }

    /// `swift run [-c release] agentos ARGS` as ARGS; nil for any other program.
    static func agentosArguments(_ words: [String]) -> [String]? {
        var words = words[...]
        guard words.popFirst() == "swift", words.popFirst() == "run" else { return nil }
        if words.first == "-c" { words = words.dropFirst(2) }
        guard words.popFirst() == "agentos" else { return nil }
        return Array(words.filter { $0 != "&" })
    }

    var readme: String {
        get throws { try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8) }
    }

    @Test("the tour's offline blocks run as shown: the exit status and every output line the README prints")
    func tourRuns() throws {
        let scratch = CLI.temporaryPath("readme")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var ran = 0
        for block in Self.blocks("sh", in: try readme) {
            let commands = Self.commands(block)
            let examples = commands.compactMap { command -> Example? in
                guard var arguments = Self.agentosArguments(command.words) else { return nil }
                // Paths under /tmp go to this test's own folder; paths of the repository are absolute.
                arguments = arguments.map { argument in
                    if argument.hasPrefix("/tmp/") { return scratch + "/" + argument.dropFirst(5) }
                    return FileManager.default.fileExists(atPath: Self.root + "/" + argument) && !argument.hasPrefix("-") ? Self.root + "/" + argument : argument
                }
                let status = command.comment.flatMap { $0.hasPrefix("exits ") ? Int32($0.dropFirst(6).prefix { $0.isNumber }) : nil } ?? 0
                return Example(arguments: arguments, status: status, output: command.output)
            }
            guard examples.count == commands.count, examples.allSatisfy({ Self.offline.contains($0.arguments.first ?? "") }) else { continue }
            for example in examples {
                let result = try CLI.run(executable: CLI.binary, example.arguments, directory: scratch)
                #expect(result.status == example.status, "agentos \(example.arguments.joined(separator: " ")): \(result.stderr)")
                let printed = Set((result.stdout + "\n" + result.stderr).components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
                for line in example.output where !line.contains("...") {
                    #expect(printed.contains(line.trimmingCharacters(in: .whitespaces)), "agentos \(example.arguments.joined(separator: " ")) no longer prints '\(line)'")
                }
                ran += 1
            }
        }
        #expect(ran >= 6, "the tour runs at least run, explore, replay, check, and a failing run and its shrink")
    }

    @Test("every agentos command the README shows exists, with every flag it names")
    func flagsExist() throws {
        var checked = 0
        for block in Self.blocks("sh", in: try readme) {
            for command in Self.commands(block) {
                guard let arguments = Self.agentosArguments(command.words), let name = arguments.first else { continue }
                let help = try CLI.run([name, "--help"])
                #expect(help.status == 0, "agentos \(name) is not a command")
                for flag in arguments where flag.hasPrefix("--") {
                    #expect(help.stdout.contains(flag.split(separator: "=")[0] + " "), "agentos \(name) has no \(flag)")
                }
                checked += 1
            }
        }
        #expect(checked >= 10)
    }

    @Test("the README's Swift example is, line for line, the body of a CoreTesting test that runs")
    func swiftExampleIsATest() throws {
        let examples = Self.blocks("swift", in: try readme)
        #expect(examples.count == 1)
        let test = try String(contentsOfFile: Self.root + "/Tests/CoreTests/EmbeddedClusterTests.swift", encoding: .utf8)
        let testLines = test.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for example in examples {
            let body: [String] = example.filter { !$0.hasPrefix("import ") && !$0.isEmpty }.map { $0.trimmingCharacters(in: .whitespaces) }
            let starts: Range<Int> = 0..<max(0, testLines.count - body.count + 1)
            let found = starts.contains { (start: Int) -> Bool in Array(testLines[start..<(start + body.count)]) == body }
            #expect(found, "the README's Swift example differs from EmbeddedClusterTests.readmeExample")
        }
    }

    @Test("docs/reference.md has a section for every command agentos lists, and the README stays a first page")
    func referenceCoversEveryCommand() throws {
        let help = try CLI.run(["--help"])
        let listing = help.stdout.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        let commands = listing.components(separatedBy: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            let name = line.split(separator: " ").first.map(String.init) ?? ""
            return !name.isEmpty && name.allSatisfy({ $0.isLowercase || $0 == "-" }) ? name : nil
        }
        #expect(commands.count >= 15, "\(help.stdout)")
        let reference = try String(contentsOfFile: Self.root + "/docs/reference.md", encoding: .utf8)
        for command in commands {
            #expect(reference.contains("\n### agentos \(command)\n"), "docs/reference.md does not document `agentos \(command)`")
        }
        #expect(try readme.components(separatedBy: "\n").count <= 201, "the README is a first page: at most 200 lines")
    }

    @Test("docs/reference.md has a row for every mark, with its summary, and no other rows")
    func referenceListsEveryMark() throws {
        let reference = try String(contentsOfFile: Self.root + "/docs/reference.md", encoding: .utf8)
        for mark in Mark.allCases {
            #expect(reference.contains("| `\(mark.name)` | \(mark.summary) |"), "docs/reference.md lacks the mark `\(mark.name)` or its summary changed")
        }
        let section = reference.components(separatedBy: "\n## The marks\n").last?.components(separatedBy: "\n## ").first ?? ""
        let rows = section.components(separatedBy: "\n").filter { $0.hasPrefix("| `") }
        #expect(rows.count == Mark.allCases.count, "the marks table has \(rows.count) rows for \(Mark.allCases.count) marks")
    }
}
