import Core
import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster's own certificate authority and one certificate per process, for mutual TLS on
/// the role plane (`agentos certs init`, `serve --tls-dir`).
///
/// A process is the set of roles that share a role-plane URL in the cluster file; its
/// certificate names each of those roles as a DNS subject alternative name, and its files are
/// called after them (`gateway+region-1+store.pem`, `...-key.pem`). A peer is accepted only
/// with a certificate the cluster CA signed, and a message only from a role its certificate
/// names. Keys are P-256; the CA key stays in the directory for issuing again (rotation) and
/// should be moved offline once every process has its files.
public enum ClusterCertificates {
    public static let caFile = "ca.pem"
    public static let caKeyFile = "ca-key.pem"

    /// The file stem of the process hosting `roles` (the fake LLM is on the public port: not a role-plane role).
    public static func processName(roles: [Address]) -> String {
        roles.filter { $0 != .fakeLLM }.sorted().map(\.name).joined(separator: "+")
    }

    /// The processes of a cluster file: the roles behind each role-plane URL.
    public static func processes(of layout: ClusterLayout) -> [[Address]] {
        var byURL: [String: [Address]] = [:]
        for role in layout.roleNames { byURL[layout.urls[role] ?? "", default: []].append(role) }
        return byURL.values.map { $0.sorted() }.sorted { $0[0] < $1[0] }
    }

    /// Makes a new CA in `directory` (refusing to overwrite one) and a certificate for every
    /// process of `layout`. Returns the process names written.
    @discardableResult
    public static func initialize(directory: String, layout: ClusterLayout, days: Int, now: Date = Date()) throws -> [String] {
        let fileManager = FileManager.default
        let caPath = (directory as NSString).appendingPathComponent(caFile)
        guard !fileManager.fileExists(atPath: caPath) else {
            throw ServeError("'\(caPath)' exists: a new CA would orphan every certificate it signed (use `certs issue` to add or renew a process)")
        }
        try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("AgentOS-Sim")
            CommonName("agentos cluster CA")
        }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PrivateKey(caKey).publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        try write(caKey.pemRepresentation, to: (directory as NSString).appendingPathComponent(caKeyFile), secret: true)
        try write(try ca.serializeAsPEM().pemString, to: caPath, secret: false)
        var names: [String] = []
        for roles in processes(of: layout) {
            names.append(try issue(directory: directory, roles: roles, days: days, now: now))
        }
        return names
    }

    /// Issues (or renews) the certificate of the process hosting `roles` with the CA in
    /// `directory`. Returns the process name.
    @discardableResult
    public static func issue(directory: String, roles: [Address], days: Int, now: Date = Date()) throws -> String {
        let caPath = (directory as NSString).appendingPathComponent(caFile)
        let caKeyPath = (directory as NSString).appendingPathComponent(caKeyFile)
        guard let caPEM = try? String(contentsOfFile: caPath, encoding: .utf8), let caKeyPEM = try? String(contentsOfFile: caKeyPath, encoding: .utf8) else {
            throw ServeError("no cluster CA in '\(directory)' (\(caFile) and \(caKeyFile)): run `agentos certs init` first")
        }
        let ca = try Certificate(pemEncoded: caPEM)
        let caKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
        let name = processName(roles: roles)
        guard !name.isEmpty else { throw ServeError("a process certificate needs at least one role") }
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("AgentOS-Sim")
            CommonName(String(name.prefix(64)))
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PrivateKey(key).publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(roles.filter { $0 != .fakeLLM }.sorted().map { GeneralName.dnsName($0.name) })
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        try write(key.pemRepresentation, to: (directory as NSString).appendingPathComponent("\(name)-key.pem"), secret: true)
        try write(try certificate.serializeAsPEM().pemString, to: (directory as NSString).appendingPathComponent("\(name).pem"), secret: false)
        return name
    }

    /// The roles a DER certificate names (its DNS subject alternative names).
    public static func roles(inDER bytes: [UInt8]) -> Set<Address> {
        guard let certificate = try? Certificate(derEncoded: bytes), let names = try? certificate.extensions.subjectAlternativeNames else { return [] }
        var roles: Set<Address> = []
        for name in names {
            if case .dnsName(let role) = name { roles.insert(Address(role)) }
        }
        return roles
    }

    private static func write(_ text: String, to path: String, secret: Bool) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data((text + "\n").utf8), attributes: secret ? [.posixPermissions: 0o600] : nil) else {
            throw ServeError("cannot write '\(path)'")
        }
    }
}
