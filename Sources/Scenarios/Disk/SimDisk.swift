import Foundation
import Sim

/// A simulated disk for one run: the files SQLite writes, each with the bytes an fsync has
/// made durable and the bytes written since, which a power loss drops. The store runs on it
/// through `SimDiskVFS`, with SQLite's own code for journaling, checksums and recovery in the
/// loop, opened exactly as the real shell opens its file.
public final class SimDisk: @unchecked Sendable {
    // Used by one run at a time, on that run's thread; the VFS reaches it through a pointer the
    // file handle holds, and the registry below is locked.

    /// One file: the bytes the OS shows (its page cache), and an undo record of each write since
    /// the last sync, so a power loss can take them back.
    ///
    /// The bytes live in fixed-size chunks: a growing WAL never copies what it holds, and a sync
    /// copies nothing at all (it forgets the undo records). Keeping a second, durable copy of
    /// every file instead, grown by appends and refreshed at each sync, was most of a simulated
    /// commit's cost.
    final class File {
        static let chunkShift = 16
        static let chunkSize = 1 << chunkShift

        /// The file's length as the OS shows it.
        private(set) var size = 0
        /// Chunk `k` holds bytes `k << chunkShift ..< (k + 1) << chunkShift`; bytes at or past
        /// `size` are stale and read as zeros.
        private var chunks: [UnsafeMutableRawPointer] = []
        /// What each write (or truncation) since the last sync replaced, oldest first.
        private(set) var unsynced: [Undo] = []
        /// Shared-memory regions of the WAL index: volatile, like the real `-shm` mapping.
        var shm: [UnsafeMutableRawPointer] = []

        /// A change since the last sync: `length` bytes written at `offset` (0 for a
        /// truncation to `offset`), the file's size before it, and the bytes it replaced there.
        struct Undo {
            let offset: Int
            let length: Int
            let sizeBefore: Int
            let replaced: [UInt8]
        }

        func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) -> Bool {
            let available = max(0, min(count, size - offset))
            if available > 0 { copyOut(into: buffer, count: available, at: offset) }
            if available < count { (buffer + available).initializeMemory(as: UInt8.self, repeating: 0, count: count - available) }
            return available == count
        }

        func write(_ buffer: UnsafeRawPointer, count: Int, at offset: Int) {
            unsynced.append(Undo(offset: offset, length: count, sizeBefore: size, replaced: bytes(from: offset, to: offset + count)))
            place(buffer, count: count, at: offset)
        }

        func truncate(_ newSize: Int) {
            unsynced.append(Undo(offset: newSize, length: 0, sizeBefore: size, replaced: bytes(from: newSize, to: size)))
            if newSize < size { size = newSize }
        }

        /// fsync: everything written so far is durable, so nothing is left to undo.
        func sync() {
            unsynced.removeAll(keepingCapacity: true)
        }

        /// Power lost: the unsynced writes vanish, except that the last one may land in part
        /// (`tornSectors` of its 512-byte sectors, nil for none).
        /// Returns whether a write was torn (an unsynced write left partly on disk).
        @discardableResult
        func losePower(tornSectors: Int?) -> Bool {
            var torn: (offset: Int, bytes: [UInt8])?
            if let tornSectors, let last = unsynced.last, last.length > 0 {
                let kept = min(last.length, tornSectors * 512)
                torn = (last.offset, bytes(from: last.offset, to: last.offset + kept))
            }
            // Newest first, so each undo finds the file as its change left it. A truncation's
            // tail comes back into chunks the file still holds (chunks are never given back).
            for undo in unsynced.reversed() {
                size = undo.sizeBefore
                undo.replaced.withUnsafeBytes { replaced in
                    if replaced.count > 0 { copyIn(replaced.baseAddress!, count: replaced.count, at: undo.offset) }
                }
            }
            unsynced = []
            if let torn {
                // Even a tear of no sectors leaves the file as long as the write's offset, as a
                // file system that allocated the write's extent before losing its data would.
                if size < torn.offset {
                    ensureCapacity(torn.offset)
                    zero(size..<torn.offset)
                    size = torn.offset
                }
                torn.bytes.withUnsafeBytes { if $0.count > 0 { place($0.baseAddress!, count: $0.count, at: torn.offset) } }
            }
            return torn != nil
        }

        /// The file's bytes from `start` up to `end`, clamped to its size (empty when `start` is
        /// at or past it): an undo's copy, and a test's view.
        func bytes(from start: Int, to end: Int) -> [UInt8] {
            let count = min(end, size) - start
            guard count > 0 else { return [] }
            return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                copyOut(into: UnsafeMutableRawPointer(buffer.baseAddress!), count: count, at: start)
                initialized = count
            }
        }

        /// Writes `count` bytes at `offset`, growing the file; a gap before `offset` reads as
        /// zeros, as in a sparse file.
        private func place(_ source: UnsafeRawPointer, count: Int, at offset: Int) {
            guard count > 0 else { return }
            let end = offset + count
            ensureCapacity(end)
            if offset > size { zero(size..<offset) }
            copyIn(source, count: count, at: offset)
            size = max(size, end)
        }

        private func ensureCapacity(_ end: Int) {
            let needed = (end + Self.chunkSize - 1) >> Self.chunkShift
            while chunks.count < needed {
                chunks.append(UnsafeMutableRawPointer.allocate(byteCount: Self.chunkSize, alignment: 16))
            }
        }

        /// Calls `body` for each piece of `count` bytes from `offset` that lies in one chunk:
        /// the chunk's address for the piece, how far into the range the piece starts, and its length.
        private func forEachPiece(count: Int, at offset: Int, _ body: (UnsafeMutableRawPointer, Int, Int) -> Void) {
            var done = 0
            while done < count {
                let position = offset + done
                let within = position & (Self.chunkSize - 1)
                let run = min(Self.chunkSize - within, count - done)
                body(chunks[position >> Self.chunkShift] + within, done, run)
                done += run
            }
        }

        private func zero(_ range: Range<Int>) {
            forEachPiece(count: range.count, at: range.lowerBound) { piece, _, run in
                piece.initializeMemory(as: UInt8.self, repeating: 0, count: run)
            }
        }

        private func copyIn(_ source: UnsafeRawPointer, count: Int, at offset: Int) {
            forEachPiece(count: count, at: offset) { piece, done, run in piece.copyMemory(from: source + done, byteCount: run) }
        }

        private func copyOut(into target: UnsafeMutableRawPointer, count: Int, at offset: Int) {
            forEachPiece(count: count, at: offset) { piece, done, run in (target + done).copyMemory(from: piece, byteCount: run) }
        }

        /// The last connection unmapped the WAL index: free it.
        func dropSharedMemory() {
            for region in shm { region.deallocate() }
            shm = []
        }

        /// A dead process's mapping: a new connection starts from fresh shared memory, but the
        /// dead connection may still point into the old regions, so they are freed only with
        /// the file, which every handle (dead or alive) keeps alive.
        func retireSharedMemory() {
            retired += shm
            shm = []
        }

        private var retired: [UnsafeMutableRawPointer] = []

        deinit {
            for region in shm + retired { region.deallocate() }
            for chunk in chunks { chunk.deallocate() }
        }
    }

    let id: Int
    var files: [String: File] = [:]
    /// Consulted at every durable boundary (each write, truncation and sync of any file) while
    /// set: the crash table's probe, which counts them and crashes at one. Nil in every other
    /// run, which then does exactly what it did before the probe existed.
    public var onBoundary: ((DiskBoundary) -> BoundaryAction)?
    /// Set when a boundary crash took the store process down (and, but for a kill, the power):
    /// the run's store machine stops answering from that moment.
    public private(set) var crashedAtBoundary = false
    /// Open handles, so a crash can cut them off from the files they wrote.
    var handles: [SimDiskHandle] = []
    /// Connections of earlier lives of the store process: never closed cleanly while the run
    /// goes on (a crashed process does not checkpoint), closed with the disk.
    var graveyard: [AnyObject] = []

    /// A new, empty disk, reachable by SQLite under `path(_:)`.
    public init() {
        id = SimDiskRegistry.shared.add()
        SimDiskRegistry.shared.attach(self)
        SimDiskVFS.ensureRegistered()
    }

    deinit {
        SimDiskRegistry.shared.remove(id)
        // Dead connections close now; their handles are dead, so closing touches no file.
        graveyard.removeAll()
    }

    /// The path SQLite opens for `name` on this disk.
    public func path(_ name: String) -> String { "\(SimDiskVFS.prefix)\(id)/\(name)" }

    /// The store process died (crash or power loss): its open handles can do nothing more, and
    /// its connection is kept aside rather than closed, as a dead process closes nothing.
    public func processDied(connection: AnyObject?) {
        for handle in handles { handle.dead = true }
        handles = []
        if let connection { graveyard.append(connection) }
        for name in files.keys.sorted() { files[name]!.retireSharedMemory() }
    }

    /// Power lost: every file falls back to what was synced; the last unsynced write of each
    /// may be torn, as `random` decides. Returns whether some write was torn.
    @discardableResult
    public func losePower(random: inout SimRandom) -> Bool {
        var tornAny = false
        for name in files.keys.sorted() {
            let file = files[name]!
            let torn: Int? = random.chance(.oneIn(2)) ? random.int(in: 0...8) : nil
            if file.losePower(tornSectors: torn) { tornAny = true }
        }
        return tornAny
    }

    /// A crash at a durable boundary: the store process dies there and then (its handles fail
    /// every call from now on); unless `keepsPageCache` (a kill, the OS survives), the power
    /// goes too, every file falling back to what was synced, and `torn`'s last write landing in
    /// `tornSectors` of its sectors.
    func crashAtBoundary(keepsPageCache: Bool, torn: (file: File, sectors: Int)? = nil) {
        crashedAtBoundary = true
        for handle in handles { handle.dead = true }
        handles = []
        for name in files.keys.sorted() { files[name]!.retireSharedMemory() }
        guard !keepsPageCache else { return }
        for name in files.keys.sorted() {
            let file = files[name]!
            file.losePower(tornSectors: torn.flatMap { $0.file === file ? $0.sectors : nil })
        }
    }

    /// The power goes now, between two operations of the store, without a tear: the crash
    /// table's point after an acknowledgment (what an acknowledged write left unsynced is lost).
    public func losePowerAfterAcknowledgment() {
        crashAtBoundary(keepsPageCache: false)
    }

    /// Every file gone, as after reformatting.
    public func wipe() {
        for handle in handles { handle.dead = true }
        handles = []
        for name in files.keys.sorted() { files[name]!.retireSharedMemory() }
        files = [:]
    }
}

/// A durable boundary the simulated disk sees: one write, truncation or sync of one of the
/// store's files.
public struct DiskBoundary: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Codable { case write, truncate, sync }
    /// Which of SQLite's files: the database, its write-ahead log, or its rollback journal.
    public enum FileRole: String, Hashable, Sendable, Codable {
        case database = "db", wal, journal, other

        init(name: String) {
            if name.hasSuffix("-wal") { self = .wal } else if name.hasSuffix("-journal") { self = .journal } else if name.hasSuffix(".sqlite") {
                self = .database
            } else { self = .other }
        }
    }

    public var kind: Kind
    public var file: FileRole
    /// Bytes written (0 for a sync or a truncation).
    public var length: Int

    public init(kind: Kind, file: FileRole, length: Int) {
        self.kind = kind
        self.file = file
        self.length = length
    }

    public var description: String { kind == .write ? "\(kind.rawValue) \(file.rawValue) (\(length) B)" : "\(kind.rawValue) \(file.rawValue)" }
}

/// What the probe wants done at a boundary.
public enum BoundaryAction: Sendable, Equatable {
    case proceed
    /// Power lost just before the boundary: it never happens.
    case powerLossBefore
    /// Power lost just after it.
    case powerLossAfter
    /// The write lands in part (`sectors` of its 512-byte sectors), then the power goes.
    case tornWrite(sectors: Int)
    /// The process is killed just after it; the OS keeps every write it made.
    case killAfter
}

/// One open file of a `SimDisk`, as an SQLite file handle holds it.
final class SimDiskHandle {
    /// Weak: the disk keeps dead connections (and so their handles) until it goes itself.
    weak var disk: SimDisk?
    let file: SimDisk.File
    let name: String
    let deleteOnClose: Bool
    /// Set when the process that opened it died: every call then fails.
    var dead = false

    init(disk: SimDisk, file: SimDisk.File, name: String, deleteOnClose: Bool) {
        self.disk = disk
        self.file = file
        self.name = name
        self.deleteOnClose = deleteOnClose
    }
}

/// Disks by id, for the VFS to find the disk a path names. Tests run in parallel threads, so
/// it is locked; the per-call file work goes through the handle and takes no lock.
final class SimDiskRegistry: @unchecked Sendable {
    static let shared = SimDiskRegistry()
    private let lock = NSLock()
    private var next = 0
    private var disks: [Int: Weak] = [:]

    final class Weak {
        weak var disk: SimDisk?
    }

    func add() -> Int {
        lock.withLock {
            next += 1
            disks[next] = Weak()
            return next
        }
    }

    func attach(_ disk: SimDisk) { lock.withLock { disks[disk.id]?.disk = disk } }
    func remove(_ id: Int) { lock.withLock { disks[id] = nil } }

    /// The disk and file name a VFS path names.
    func resolve(_ path: String) -> (SimDisk, String)? {
        guard path.hasPrefix(SimDiskVFS.prefix) else { return nil }
        let rest = path.dropFirst(SimDiskVFS.prefix.count)
        guard let slash = rest.firstIndex(of: "/"), let id = Int(rest[..<slash]) else { return nil }
        let disk = lock.withLock { disks[id]?.disk }
        return disk.map { ($0, String(rest[rest.index(after: slash)...])) }
    }
}
