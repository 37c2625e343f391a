import Crypto
import Foundation

/// Authenticates role-to-role traffic with a secret every process of the cluster shares.
///
/// Each request carries `X-AgentOS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
/// The receiver recomputes it and compares in constant time, and refuses a timestamp more than
/// `skewMax` seconds from its own clock, so a captured request cannot be replayed later than
/// that. Within the window a replay is a duplicate, which the roles already tolerate (the
/// simulated network duplicates too). The secret is never logged or echoed.
public struct RolePlaneAuth: Sendable {
    public static let header = "X-AgentOS-Signature"
    /// Shortest secret accepted: 16 bytes (128 bits).
    public static let secretBytesMin = 16
    let key: SymmetricKey
    let skewMax: Int64

    public init(secret: String, skewMax: Int64 = 300) throws {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count >= Self.secretBytesMin else {
            throw ServeError("the role-plane secret must be at least \(Self.secretBytesMin) bytes (got \(trimmed.utf8.count))")
        }
        key = SymmetricKey(data: Data(trimmed.utf8))
        self.skewMax = skewMax
    }

    static func now() -> Int64 { Int64(ClockSkew.shared.wallNow().timeIntervalSince1970) }

    func mac(_ body: Data, at time: Int64) -> Data {
        var message = Data("\(time).".utf8)
        message.append(body)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// The header value for a body sent now.
    public func signature(for body: Data) -> String { sign(body, at: Self.now()) }

    func sign(_ body: Data, at time: Int64) -> String {
        "t=\(time),v1=\(Self.hex(mac(body, at: time)))"
    }

    enum Verdict: Equatable {
        case valid
        case missing
        case malformed
        case expired
        case wrong
    }

    /// What can be judged before the body is read: a header that is there, well formed and
    /// fresh. A request that fails here is refused without reading a byte of its body.
    func verifyHead(_ header: String?, now: Int64) -> Verdict {
        guard let header else { return .missing }
        guard let (time, _) = Self.parse(header) else { return .malformed }
        return abs(now - time) <= skewMax ? .valid : .expired
    }

    static func parse(_ header: String) -> (time: Int64, signature: Data)? {
        var time: Int64?
        var signature: Data?
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            switch pair[0].trimmingCharacters(in: .whitespaces) {
            case "t": time = Int64(pair[1])
            case "v1": signature = Self.hexBytes(String(pair[1]))
            default: continue
            }
        }
        guard let time, let signature else { return nil }
        return (time, signature)
    }

    func verify(_ header: String?, body: Data, now: Int64) -> Verdict {
        guard let header else { return .missing }
        guard let (time, signature) = Self.parse(header) else { return .malformed }
        guard abs(now - time) <= skewMax else { return .expired }
        // HMAC's own check compares in constant time.
        var message = Data("\(time).".utf8)
        message.append(body)
        return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: message, using: key) ? .valid : .wrong
    }

    /// Lower-case hex digits of `bytes`; `hexBytes` reads them back.
    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func hexBytes(_ text: String) -> Data? {
        guard text.count % 2 == 0 else { return nil }
        var bytes = Data(capacity: text.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// The secret from a file (first choice) or an environment variable.
    public static func load(file: String?, environment variable: String) throws -> RolePlaneAuth? {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ServeError("cannot read the role-plane secret file '\(file)'")
            }
            return try RolePlaneAuth(secret: text)
        }
        if let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty {
            return try RolePlaneAuth(secret: text)
        }
        return nil
    }
}
