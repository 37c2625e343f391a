import Foundation

/// The store's data directory on a small filesystem of its own (a tmpfs of `sizeMiB`), so the
/// `disk-full` fault can fill it without touching the machine's disk: the store's writes then
/// fail with SQLITE_FULL until the filler is removed.
///
/// Mounted by the test driver before the processes start; each process, started through
/// `ip netns exec` (a copy of the driver's mount namespace), sees the same filesystem. When the
/// run ends its contents are copied back to an ordinary directory of the same name, so a kept
/// folder and `agentos check` read the store as from any other run.
final class SmallDisk: @unchecked Sendable {
    let path: String
    let sizeMiB: Int
    var filler: String { (path as NSString).appendingPathComponent(".disk-full-filler") }

    static let mountTool = ["/usr/bin/mount", "/bin/mount"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let umountTool = ["/usr/bin/umount", "/bin/umount"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Why a small disk cannot be mounted here, or nil if it can.
    static func unavailableReason() -> String? {
        guard geteuid() == 0 else { return "mounting a filesystem needs root" }
        guard mountTool != nil, umountTool != nil else { return "`mount` is not installed" }
        return nil
    }

    init(path: String, sizeMiB: Int = 48) throws {
        if let reason = Self.unavailableReason() { throw ClusterTestError("disk-full: \(reason)") }
        self.path = path
        self.sizeMiB = sizeMiB
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try ClusterNetwork.run(Self.mountTool!, ["-t", "tmpfs", "-o", "size=\(sizeMiB)m,mode=0700", "agentos-small-disk", path])
    }

    /// Writes a filler file until the filesystem has no space left; returns the bytes written.
    func fill() throws -> Int {
        guard let handle = FileHandle(forWritingAtPath: filler) ?? {
            _ = FileManager.default.createFile(atPath: filler, contents: nil)
            return FileHandle(forWritingAtPath: filler)
        }() else { throw ClusterTestError("disk-full: cannot create \(filler)") }
        defer { try? handle.close() }
        let block = Data(count: 64 * 1024)
        var written = 0
        // Down to single bytes, so not even a page is left for the store.
        var size = block.count
        while size > 0 {
            do {
                try handle.write(contentsOf: block.prefix(size))
                written += size
            } catch {
                size /= 2
            }
        }
        return written
    }

    /// Frees the space again.
    func free() {
        try? FileManager.default.removeItem(atPath: filler)
    }

    /// Copies the contents to an ordinary directory at the same path and unmounts the small one.
    func release() {
        free()
        let kept = path + ".kept"
        try? FileManager.default.removeItem(atPath: kept)
        do {
            try FileManager.default.copyItem(atPath: path, toPath: kept)
            try ClusterNetwork.run(Self.umountTool!, [path])
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: kept, toPath: path)
        } catch {
            // Leave the mount rather than lose the store; say where it is.
            FileHandle.standardError.write(Data("cluster-test: could not release the small disk at \(path): \(error)\n".utf8))
        }
    }
}

extension ClusterUnderTest {
    /// The store requests the store's process has logged as failed so far (its log survives
    /// restarts: a restarted process appends).
    func storeFailuresLogged() -> Int {
        guard let log = try? String(contentsOfFile: (folder as NSString).appendingPathComponent("serve-a.log"), encoding: .utf8) else { return 0 }
        return log.components(separatedBy: "store request failed").count - 1
    }
}
