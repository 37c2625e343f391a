import Foundation
import Sim

/// A simulated disk for one run: the files SQLite writes, each with the bytes an fsync has
/// made durable and the bytes written since, which a power loss drops. The store runs on it
/// through `SimDiskVFS`, with SQLite's own code for journaling, checksums and recovery in the
/// loop, opened exactly as the real shell opens its file.
public final class SimDisk: @unchecked Sendable {
    // Used by one run at a time, on that run's thread; the VFS reaches it through a pointer the
    // file handle holds, and the registry below is locked.

    /// One file: what survived the last sync, plus the writes since, in order.
    final class File {
        var durable: [UInt8] = []
        /// The file as the OS shows it (the page cache): durable plus every unsynced write.
        var current: [UInt8] = []
        /// Writes since the last sync (offset, length), oldest first, for a torn write.
        var unsynced: [(offset: Int, length: Int)] = []
        /// Shared-memory regions of the WAL index: volatile, like the real `-shm` mapping.
        var shm: [UnsafeMutableRawPointer] = []

        func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) -> Bool {
            let available = max(0, min(count, current.count - offset))
            if available > 0 {
                current.withUnsafeBytes { bytes in buffer.copyMemory(from: bytes.baseAddress! + offset, byteCount: available) }
            }
            if available < count { (buffer + available).initializeMemory(as: UInt8.self, repeating: 0, count: count - available) }
            return available == count
        }

        func write(_ buffer: UnsafeRawPointer, count: Int, at offset: Int) {
            Self.place(UnsafeRawBufferPointer(start: buffer, count: count), at: offset, in: &current)
            unsynced.append((offset, count))
        }

        /// Writes `bytes` at `offset`, overwriting what is there and appending the rest: one
        /// copy of each part (the WAL grows by appends, and padding with zeros first, then
        /// overwriting them, was a twentieth of a scenario's time). A gap before `offset`
        /// reads as zeros, as in a sparse file.
        static func place(_ bytes: UnsafeRawBufferPointer, at offset: Int, in file: inout [UInt8]) {
            if file.count < offset { file.append(contentsOf: repeatElement(0, count: offset - file.count)) }
            let overwritten = min(bytes.count, file.count - offset)
            if overwritten > 0 {
                file.withUnsafeMutableBytes { target in
                    (target.baseAddress! + offset).copyMemory(from: bytes.baseAddress!, byteCount: overwritten)
                }
            }
            if overwritten < bytes.count { file.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[overwritten...])) }
        }

        func truncate(_ size: Int) {
            if size < current.count { current.removeLast(current.count - size) }
            unsynced.append((size, 0))
        }

        /// fsync: everything written so far is durable. Only the ranges written since the last
        /// sync are copied, so a sync costs what was written, not the file's size.
        func sync() {
            current.withUnsafeBytes { source in
                for write in unsynced where write.length > 0 {
                    let end = min(write.offset + write.length, current.count)
                    guard end > write.offset else { continue }
                    Self.place(UnsafeRawBufferPointer(rebasing: source[write.offset..<end]), at: write.offset, in: &durable)
                }
            }
            if durable.count > current.count {
                durable.removeLast(durable.count - current.count)
            } else if durable.count < current.count {
                durable.append(contentsOf: current[durable.count...])
            }
            unsynced = []
        }

        /// Power lost: the unsynced writes vanish, except that the last one may land in part
        /// (`tornSectors` of its 512-byte sectors, nil for none).
        func losePower(tornSectors: Int?) {
            var survivor = durable
            if let tornSectors, let last = unsynced.last, last.length > 0 {
                let kept = min(last.length, tornSectors * 512)
                if survivor.count < last.offset + kept { survivor.append(contentsOf: repeatElement(0, count: last.offset + kept - survivor.count)) }
                for index in 0..<kept { survivor[last.offset + index] = current[last.offset + index] }
            }
            current = survivor
            durable = survivor
            unsynced = []
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
        }
    }

    let id: Int
    var files: [String: File] = [:]
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
    /// may be torn, as `random` decides.
    public func losePower(random: inout SimRandom) {
        for name in files.keys.sorted() {
            let file = files[name]!
            let torn: Int? = random.chance(.oneIn(2)) ? random.int(in: 0...8) : nil
            file.losePower(tornSectors: torn)
        }
    }

    /// Every file gone, as after reformatting.
    public func wipe() {
        for handle in handles { handle.dead = true }
        handles = []
        for name in files.keys.sorted() { files[name]!.retireSharedMemory() }
        files = [:]
    }
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
