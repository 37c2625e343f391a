import Foundation
import GRDBSQLite

/// The SQLite VFS that puts a `SimDisk` under the simulated store. It is registered as the
/// default VFS but passes every path outside `prefix` straight to the VFS it replaced, so other
/// SQLite files in the process (the real shell's, the tests') are untouched. Only file IO is
/// simulated; SQLite's journaling, WAL, checksums and recovery run as they do on a real disk.
///
/// Why a VFS rather than a fake store: the durability of an acknowledged write depends on
/// what SQLite syncs and when (journal mode, synchronous level), and only SQLite's own code,
/// fed a disk that forgets unsynced writes, shows it.
enum SimDiskVFS {
    static let name = "agentos-simdisk"
    static let prefix = "/agentos-simdisk/"

    /// The VFS this one replaced as default, to which every other path goes.
    nonisolated(unsafe) static var base: UnsafeMutablePointer<sqlite3_vfs>?
    nonisolated(unsafe) static var methods: UnsafeMutablePointer<sqlite3_io_methods>?

    /// Registration happens once, on first use (Swift runs a static's initialiser once, thread-safely).
    static let registered: Bool = register()

    static func ensureRegistered() { precondition(registered, "the simulated disk's SQLite VFS could not be registered") }

    /// Where our handle sits in an `sqlite3_file`: right after SQLite's header.
    static let handleOffset = MemoryLayout<sqlite3_file>.stride

    private static func register() -> Bool {
        guard let original = sqlite3_vfs_find(nil) else { return false }
        base = original
        let io = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
        io.initialize(to: sqlite3_io_methods())
        io.pointee.iVersion = 2
        io.pointee.xClose = close
        io.pointee.xRead = read
        io.pointee.xWrite = write
        io.pointee.xTruncate = truncate
        io.pointee.xSync = sync
        io.pointee.xFileSize = fileSize
        io.pointee.xLock = { _, _ in SQLITE_OK }
        io.pointee.xUnlock = { _, _ in SQLITE_OK }
        io.pointee.xCheckReservedLock = { _, result in
            result?.pointee = 0
            return SQLITE_OK
        }
        io.pointee.xFileControl = { _, _, _ in SQLITE_NOTFOUND }
        io.pointee.xSectorSize = { _ in 512 }
        io.pointee.xDeviceCharacteristics = { _ in 0 }  // no atomic or safe-append guarantees: the worst disk
        io.pointee.xShmMap = shmMap
        io.pointee.xShmLock = { _, _, _, _ in SQLITE_OK }
        io.pointee.xShmBarrier = { _ in }
        io.pointee.xShmUnmap = { file, _ in
            if let handle = SimDiskVFS.live(file) { handle.file.dropSharedMemory() }
            return SQLITE_OK
        }
        methods = io
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: original.pointee)
        vfs.pointee.pNext = nil
        vfs.pointee.zName = UnsafePointer(strdup(name))
        vfs.pointee.szOsFile = max(original.pointee.szOsFile, Int32(handleOffset + MemoryLayout<UnsafeRawPointer>.stride))
        vfs.pointee.xOpen = open
        vfs.pointee.xDelete = delete
        vfs.pointee.xAccess = access
        vfs.pointee.xFullPathname = fullPathname
        return sqlite3_vfs_register(vfs, 1) == SQLITE_OK
    }

    static func handle(_ file: UnsafeMutablePointer<sqlite3_file>?) -> SimDiskHandle? {
        guard let file else { return nil }
        let slot = UnsafeMutableRawPointer(file).advanced(by: handleOffset).load(as: UnsafeRawPointer?.self)
        return slot.map { Unmanaged<SimDiskHandle>.fromOpaque($0).takeUnretainedValue() }
    }

    /// A live handle, or nil when its process died (then every call fails with an IO error).
    static func live(_ file: UnsafeMutablePointer<sqlite3_file>?) -> SimDiskHandle? {
        guard let handle = handle(file), !handle.dead else { return nil }
        return handle
    }

    static let open: @convention(c) (
        UnsafeMutablePointer<sqlite3_vfs>?, sqlite3_filename?, UnsafeMutablePointer<sqlite3_file>?, Int32, UnsafeMutablePointer<Int32>?
    ) -> Int32 = { _, zName, file, flags, outFlags in
        guard let zName, let path = String(validatingCString: zName), path.hasPrefix(prefix) else {
            return base!.pointee.xOpen(base, zName, file, flags, outFlags)
        }
        guard let file, let (disk, name) = SimDiskRegistry.shared.resolve(path) else { return SQLITE_CANTOPEN }
        if disk.files[name] == nil {
            guard flags & SQLITE_OPEN_CREATE != 0 else { return SQLITE_CANTOPEN }
            disk.files[name] = SimDisk.File()
        }
        let handle = SimDiskHandle(disk: disk, file: disk.files[name]!, name: name, deleteOnClose: flags & SQLITE_OPEN_DELETEONCLOSE != 0)
        disk.handles.append(handle)
        UnsafeMutableRawPointer(file).advanced(by: handleOffset).storeBytes(of: UnsafeRawPointer(Unmanaged.passRetained(handle).toOpaque()), as: UnsafeRawPointer?.self)
        file.pointee.pMethods = UnsafePointer(methods)
        outFlags?.pointee = flags
        return SQLITE_OK
    }

    static let delete: @convention(c) (UnsafeMutablePointer<sqlite3_vfs>?, UnsafePointer<CChar>?, Int32) -> Int32 = { _, zName, syncDir in
        guard let zName, let path = String(validatingCString: zName), path.hasPrefix(prefix) else {
            return base!.pointee.xDelete(base, zName, syncDir)
        }
        guard let (disk, name) = SimDiskRegistry.shared.resolve(path) else { return SQLITE_IOERR_DELETE }
        // A deletion reaches the disk at once: the directory is taken as synced, which is the
        // kinder assumption for the store (SQLite asks for a directory sync where it matters).
        disk.files[name] = nil
        return SQLITE_OK
    }

    static let access: @convention(c) (UnsafeMutablePointer<sqlite3_vfs>?, UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<Int32>?) -> Int32 = {
        _, zName, flags, result in
        guard let zName, let path = String(validatingCString: zName), path.hasPrefix(prefix) else {
            return base!.pointee.xAccess(base, zName, flags, result)
        }
        let exists = SimDiskRegistry.shared.resolve(path).map { disk, name in disk.files[name] != nil } ?? false
        result?.pointee = exists ? 1 : 0
        return SQLITE_OK
    }

    static let fullPathname: @convention(c) (UnsafeMutablePointer<sqlite3_vfs>?, UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<CChar>?) -> Int32 = {
        _, zName, size, out in
        guard let zName, let path = String(validatingCString: zName), path.hasPrefix(prefix) else {
            return base!.pointee.xFullPathname(base, zName, size, out)
        }
        guard let out, Int(size) > path.utf8.count else { return SQLITE_CANTOPEN }
        strcpy(out, zName)
        return SQLITE_OK
    }

    static let close: @convention(c) (UnsafeMutablePointer<sqlite3_file>?) -> Int32 = { file in
        guard let file else { return SQLITE_OK }
        let slot = UnsafeMutableRawPointer(file).advanced(by: handleOffset)
        guard let raw = slot.load(as: UnsafeRawPointer?.self) else { return SQLITE_OK }
        let handle = Unmanaged<SimDiskHandle>.fromOpaque(raw).takeRetainedValue()
        slot.storeBytes(of: nil, as: UnsafeRawPointer?.self)
        if !handle.dead, let disk = handle.disk {
            disk.handles.removeAll { $0 === handle }
            if handle.deleteOnClose, disk.files[handle.name] === handle.file { disk.files[handle.name] = nil }
        }
        return SQLITE_OK
    }

    static let read: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, UnsafeMutableRawPointer?, Int32, sqlite3_int64) -> Int32 = {
        file, buffer, count, offset in
        guard let handle = live(file), let buffer else { return SQLITE_IOERR_READ }
        return handle.file.read(into: buffer, count: Int(count), at: Int(offset)) ? SQLITE_OK : SQLITE_IOERR_SHORT_READ
    }

    static let write: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, UnsafeRawPointer?, Int32, sqlite3_int64) -> Int32 = {
        file, buffer, count, offset in
        guard let handle = live(file), let buffer else { return SQLITE_IOERR_WRITE }
        return boundary(handle, DiskBoundary(kind: .write, file: .init(name: handle.name), length: Int(count)), failure: SQLITE_IOERR_WRITE) {
            handle.file.write(buffer, count: Int(count), at: Int(offset))
        }
    }

    static let truncate: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, sqlite3_int64) -> Int32 = { file, size in
        guard let handle = live(file) else { return SQLITE_IOERR_TRUNCATE }
        return boundary(handle, DiskBoundary(kind: .truncate, file: .init(name: handle.name), length: 0), failure: SQLITE_IOERR_TRUNCATE) {
            handle.file.truncate(Int(size))
        }
    }

    static let sync: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32) -> Int32 = { file, _ in
        guard let handle = live(file) else { return SQLITE_IOERR_FSYNC }
        return boundary(handle, DiskBoundary(kind: .sync, file: .init(name: handle.name), length: 0), failure: SQLITE_IOERR_FSYNC) {
            handle.file.sync()
        }
    }

    /// Performs one durable change, asking the disk's probe (when one is set) whether to crash
    /// just before it, just after it, or in the middle of it.
    static func boundary(_ handle: SimDiskHandle, _ boundary: @autoclosure () -> DiskBoundary, failure: Int32, _ change: () -> Void) -> Int32 {
        guard let disk = handle.disk, let probe = disk.onBoundary else {
            change()
            return SQLITE_OK
        }
        switch probe(boundary()) {
        case .proceed:
            change()
        case .powerLossBefore:
            disk.crashAtBoundary(keepsPageCache: false)
            return failure
        case .powerLossAfter:
            change()
            disk.crashAtBoundary(keepsPageCache: false)
        case .tornWrite(let sectors):
            change()
            disk.crashAtBoundary(keepsPageCache: false, torn: (handle.file, sectors))
        case .killAfter:
            change()
            disk.crashAtBoundary(keepsPageCache: true)
        }
        return SQLITE_OK
    }

    static let fileSize: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, UnsafeMutablePointer<sqlite3_int64>?) -> Int32 = { file, size in
        guard let handle = live(file) else { return SQLITE_IOERR_FSTAT }
        size?.pointee = sqlite3_int64(handle.file.size)
        return SQLITE_OK
    }

    static let shmMap: @convention(c) (UnsafeMutablePointer<sqlite3_file>?, Int32, Int32, Int32, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 = {
        file, region, size, extend, out in
        guard let handle = live(file) else { return SQLITE_IOERR_SHMMAP }
        let regions = handle.file
        while regions.shm.count <= Int(region) {
            guard extend != 0 else {
                out?.pointee = nil
                return SQLITE_OK
            }
            let memory = UnsafeMutableRawPointer.allocate(byteCount: Int(size), alignment: 16)
            memory.initializeMemory(as: UInt8.self, repeating: 0, count: Int(size))
            regions.shm.append(memory)
        }
        out?.pointee = regions.shm[Int(region)]
        return SQLITE_OK
    }
}

// SQLite's extended IO error codes are macros Swift does not import: SQLITE_IOERR | (n << 8).
let SQLITE_IOERR_READ = SQLITE_IOERR | (1 << 8)
let SQLITE_IOERR_SHORT_READ = SQLITE_IOERR | (2 << 8)
let SQLITE_IOERR_WRITE = SQLITE_IOERR | (3 << 8)
let SQLITE_IOERR_FSYNC = SQLITE_IOERR | (4 << 8)
let SQLITE_IOERR_TRUNCATE = SQLITE_IOERR | (6 << 8)
let SQLITE_IOERR_FSTAT = SQLITE_IOERR | (7 << 8)
let SQLITE_IOERR_DELETE = SQLITE_IOERR | (10 << 8)
let SQLITE_IOERR_SHMMAP = SQLITE_IOERR | (21 << 8)
