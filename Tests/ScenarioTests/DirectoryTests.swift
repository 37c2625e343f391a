import Sim
import Testing
@testable import Scenarios

@Suite("The simulator's name and message-id tables")
struct DirectoryTests {
    @Test("every name resolves to its own node, among hundreds of names sharing table slots")
    func everyNameResolves() {
        let names = ["store", "gateway"] + (1...40).flatMap { region in (1...8).map { "proxy-\(region)-\($0)" } } + (1...100).map { "client-\($0)" }
            + ["a-name-long-enough-to-live-on-the-heap-not-inline", "llm-1"]
        let directory = Directory(names: names)
        for (index, name) in names.enumerated() {
            #expect(directory.id(name) == NodeID(index), "\(name)")
            #expect(directory.name(NodeID(index)) == name)
        }
    }

    @Test("the message-id set holds exactly what was inserted, across growth")
    func messageIDSet() {
        var set = MessageIDSet()
        var model = Set<UInt64>()
        var random = SimRandom(seed: 7, key: "ids")
        for _ in 0..<5000 {
            let id = random.below(100_000)
            if random.below(2) == 0 {
                set.insert(id)
                model.insert(id)
            }
            #expect(set.contains(id) == model.contains(id), "id \(id)")
        }
        for id in stride(from: UInt64(0), to: 100_000, by: 97) { #expect(set.contains(id) == model.contains(id), "id \(id)") }
        #expect(!set.contains(UInt64.max >> 8))
    }
}
