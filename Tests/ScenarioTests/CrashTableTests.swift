import Core
import SQLiteStore
import Testing
@testable import Scenarios

/// `agentos crash-table`'s engine: the survey sees every operation kind with its durable
/// boundaries, every crash lands where it was aimed, the shipped settings lose nothing
/// acknowledged, and a weaker synchronous level is shown losing acknowledged writes.
@Suite("Crash table")
struct CrashTableTests {
    static let settings = CrashTableSettings()

    @Test("the survey of the default scenario sees every operation kind before the heal, each write with its WAL boundaries")
    func surveySeesEveryKind() throws {
        let (operations, report) = try CrashTable.survey(Self.settings)
        #expect(report.passed)
        let kinds = Set(operations.filter { CrashTable.crashable($0, Self.settings) }.map(\.kind))
        #expect(kinds == Set(StoreOperationKind.allCases))
        for operation in operations where operation.applied {
            // A committed write in WAL mode with synchronous=FULL appends frames and syncs the WAL.
            #expect(operation.boundaries.contains { $0.file == .wal && $0.kind == .write }, "\(operation.kind) #\(operation.ordinal)")
            #expect(operation.boundaries.contains { $0.file == .wal && $0.kind == .sync }, "\(operation.kind) #\(operation.ordinal)")
        }
    }

    @Test("crashing a create and a save at every boundary with the shipped settings loses nothing acknowledged and passes every checker")
    func shippedSettingsLoseNothing() throws {
        let (operations, _) = try CrashTable.survey(Self.settings)
        let targets = CrashTable.targets(operations, kinds: [.create, .saveProgress], settings: Self.settings)
        #expect(!targets.isEmpty)
        var outcomes: Set<CrashOutcome> = []
        for target in targets {
            for point in CrashTable.points(of: target) {
                let row = try CrashTable.run(point, of: target, settings: Self.settings)
                #expect(row.outcome != nil, "\(point): \(row.problem ?? "")")
                #expect(row.passed, "\(point): \(row.outcome?.rawValue ?? "-") \(row.failedCheckers) \(row.problem ?? "")")
                if let outcome = row.outcome { outcomes.insert(outcome) }
            }
        }
        // Crashes before the WAL sync leave the write out and its caller re-sends it; after it,
        // the write is kept though never acknowledged; after the reply, it is kept.
        #expect(outcomes == [.reExecuted, .keptUnacknowledged, .keptAcknowledged])
    }

    @Test("with synchronous=OFF, power lost after a save's reply loses the acknowledged save")
    func synchronousOffLosesAcknowledgedWrites() throws {
        var settings = Self.settings
        settings.storeFile = StoreFileSettings(journalMode: .wal, synchronous: .off)
        let (operations, _) = try CrashTable.survey(settings)
        let target = try #require(CrashTable.targets(operations, kinds: [.saveProgress], settings: settings).first)
        #expect(!target.boundaries.contains { $0.kind == .sync })
        let row = try CrashTable.run(
            CrashPoint(operation: target.kind, ordinal: target.ordinal, place: .afterAcknowledgment), of: target, settings: settings)
        #expect(row.outcome == .lost)
        #expect(!row.passed)
    }

    @Test("a crash run is the survey run up to the crash: the crash lands at the surveyed time in every variant")
    func crashRunsFollowTheSurvey() throws {
        let (operations, _) = try CrashTable.survey(Self.settings)
        let target = try #require(CrashTable.targets(operations, kinds: [.finish], settings: Self.settings).first)
        let boundary = try #require(target.boundaries.firstIndex { $0.kind == .write })
        for variant in CrashVariant.allCases {
            let point = CrashPoint(operation: .finish, ordinal: target.ordinal, place: .boundary(index: boundary + 1, target.boundaries[boundary], variant))
            let row = try CrashTable.run(point, of: target, settings: Self.settings)
            #expect(row.outcome != nil, "\(variant): \(row.problem ?? "")")
        }
    }

    @Test("a torn write at a boundary leaves half its sectors on the disk and takes the store process down")
    func tornBoundaryKeepsHalfTheSectors() throws {
        let disk = SimDisk()
        let file = SimDisk.File()
        disk.files["agentos.sqlite-wal"] = file
        let bytes = [UInt8](repeating: 7, count: 2048)
        bytes.withUnsafeBytes { file.write($0.baseAddress!, count: 2048, at: 0) }
        disk.crashAtBoundary(keepsPageCache: false, torn: (file, 2))
        #expect(disk.crashedAtBoundary)
        #expect(file.size == 1024)
        #expect(file.bytes(from: 0, to: 1024) == [UInt8](repeating: 7, count: 1024))
    }
}
