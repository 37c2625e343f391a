import Foundation
import NIOSSL
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=...` URL, parsed once. Its password
/// never appears in a description, an error or a log line: `redacted` is what is shown.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        /// No TLS (loopback, a trusted network).
        case disable
        /// TLS if the server offers it.
        case prefer
        /// TLS or no connection (certificates verified).
        case require
    }

    public let host: String
    public let port: Int
    public let username: String
    let password: String?
    public let database: String
    public let tls: TLSMode

    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw PostgresStoreError("the store URL must look like postgres://user:password@host:5432/database (got \(Self.redact(text)))")
        }
        guard let host = components.host, !host.isEmpty else { throw PostgresStoreError("the store URL names no host: \(Self.redact(text))") }
        guard let user = components.user, !user.isEmpty else { throw PostgresStoreError("the store URL names no user: \(Self.redact(text))") }
        self.host = host
        port = components.port ?? 5432
        username = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? username : path
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        switch mode {
        case "disable", "allow": tls = .disable
        case "prefer": tls = .prefer
        case "require", "verify-ca", "verify-full": tls = .require
        default: throw PostgresStoreError("unknown sslmode '\(mode)' in the store URL (disable, prefer or require)")
        }
    }

    /// The URL with its password replaced: safe to print.
    public var description: String { "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)" }

    /// Any text that may hold a URL with a password, with the password replaced.
    public static func redact(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"), scheme.upperBound < at else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    func configuration() throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable:
            tlsSetting = .disable
        case .prefer:
            tlsSetting = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require:
            tlsSetting = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

/// A store failure, already redacted.
public struct PostgresStoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = PostgresURL.redact(description) }
}
