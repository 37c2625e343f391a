import Testing
@testable import Scenarios
import Sim

/// The simulated disk against the plainest model of a disk: a durable copy refreshed at each
/// sync and a current copy every write lands in. Random writes (appends, overwrites, gaps,
/// writes across chunk boundaries), truncations, syncs and power losses must leave both with
/// the same bytes.
@Suite("Simulated disk")
struct SimDiskTests {
    /// The reference: two whole copies of the file.
    struct PlainFile {
        var durable: [UInt8] = []
        var current: [UInt8] = []
        var unsynced: [(offset: Int, length: Int)] = []

        mutating func write(_ bytes: [UInt8], at offset: Int) {
            if current.count < offset + bytes.count { current += Array(repeating: 0, count: offset + bytes.count - current.count) }
            current.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            unsynced.append((offset, bytes.count))
        }

        mutating func truncate(_ size: Int) {
            if size < current.count { current.removeLast(current.count - size) }
            unsynced.append((size, 0))
        }

        mutating func sync() {
            durable = current
            unsynced = []
        }

        mutating func losePower(tornSectors: Int?) {
            var survivor = durable
            if let tornSectors, let last = unsynced.last, last.length > 0 {
                let kept = min(last.length, tornSectors * 512)
                if survivor.count < last.offset + kept { survivor += Array(repeating: 0, count: last.offset + kept - survivor.count) }
                for index in 0..<kept { survivor[last.offset + index] = current[last.offset + index] }
            }
            current = survivor
            durable = survivor
            unsynced = []
        }
    }

    @Test("random writes, truncations, syncs and power losses leave the same bytes as two whole copies would", arguments: 1...12)
    func matchesPlainModel(seed: UInt64) {
        var random = SimRandom(seed: seed, key: "disk-model")
        let file = SimDisk.File()
        var plain = PlainFile()
        let chunk = SimDisk.File.chunkSize
        var fill: UInt8 = 1
        for step in 0..<400 {
            let op = random.int(in: 0...19)
            switch op {
            case 0...10:
                // Offsets near the end and near chunk boundaries, sometimes past the end.
                let base = random.chance(.oneIn(2)) ? plain.current.count : random.int(in: 0...max(0, plain.current.count))
                let offset = max(0, base + random.int(in: -600...600) + (random.chance(.oneIn(8)) ? chunk - base % chunk - 3 : 0))
                let count = random.int(in: 1...(random.chance(.oneIn(10)) ? 3 * chunk : 5000))
                fill &+= 1
                let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0) &+ fill }
                bytes.withUnsafeBytes { file.write($0.baseAddress!, count: count, at: offset) }
                plain.write(bytes, at: offset)
            case 11...12:
                let size = random.int(in: 0...max(0, plain.current.count + 100))
                file.truncate(size)
                plain.truncate(size)
            case 13...16:
                file.sync()
                plain.sync()
            default:
                let torn: Int? = random.chance(.oneIn(2)) ? random.int(in: 0...8) : nil
                file.losePower(tornSectors: torn)
                plain.losePower(tornSectors: torn)
            }
            #expect(file.size == plain.current.count, "seed \(seed) step \(step): size")
            if file.size != plain.current.count { return }
            #expect(file.bytes(from: 0, to: file.size) == plain.current, "seed \(seed) step \(step): bytes")
            if file.bytes(from: 0, to: file.size) != plain.current { return }
        }
    }

    @Test("a read past the end of the file reads zeros and says it came up short")
    func readPastEnd() {
        let file = SimDisk.File()
        let bytes: [UInt8] = Array(repeating: 9, count: 100)
        bytes.withUnsafeBytes { file.write($0.baseAddress!, count: 100, at: 50) }
        var buffer = [UInt8](repeating: 0xFF, count: 200)
        let complete = buffer.withUnsafeMutableBytes { file.read(into: $0.baseAddress!, count: 200, at: 0) }
        #expect(!complete)
        #expect(buffer[0..<50].allSatisfy { $0 == 0 }, "the gap before the write reads as zeros")
        #expect(buffer[50..<150].allSatisfy { $0 == 9 })
        #expect(buffer[150...].allSatisfy { $0 == 0 })
    }
}
