import Core
import Foundation
import NIOSSL

/// Mutual TLS on the role plane, from a directory `agentos certs init` wrote: the cluster CA
/// and this process's certificate and key. Both ends present a certificate and verify the
/// other's against the cluster CA only (no system roots); names are not matched against host
/// names (processes are reached by address), the roles a certificate names are what count:
/// the receiver takes a message only from a role the sender's certificate names.
public struct RolePlaneTLS: Sendable {
    public let server: TLSConfiguration
    public let client: TLSConfiguration
    /// The roles this process's own certificate names.
    public let ownRoles: Set<Address>

    public static func load(directory: String, roles: [Address]) throws -> RolePlaneTLS {
        let name = ClusterCertificates.processName(roles: roles)
        let path = { (file: String) in (directory as NSString).appendingPathComponent(file) }
        let files = [path(ClusterCertificates.caFile), path("\(name).pem"), path("\(name)-key.pem")]
        for file in files where !FileManager.default.fileExists(atPath: file) {
            throw ServeError("--tls-dir: '\(file)' is missing (make it with `agentos certs init DIR --cluster FILE` or `agentos certs issue DIR --roles \(roles.map(\.name).joined(separator: ","))`)")
        }
        let ca: [NIOSSLCertificate]
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            ca = try NIOSSLCertificate.fromPEMFile(files[0])
            chain = try NIOSSLCertificate.fromPEMFile(files[1])
            key = try NIOSSLPrivateKey(file: files[2], format: .pem)
        } catch {
            throw ServeError("--tls-dir: cannot read the certificates in '\(directory)': \(error)")
        }
        guard let leaf = chain.first else { throw ServeError("--tls-dir: '\(files[1])' holds no certificate") }
        let named = ClusterCertificates.roles(inDER: try leaf.toDERBytes())
        let hosted = Set(roles.filter { $0 != .fakeLLM })
        guard hosted.isSubset(of: named) else {
            throw ServeError("--tls-dir: '\(files[1])' names \(named.sorted().map(\.name).joined(separator: ",")), not every role this process hosts (\(hosted.sorted().map(\.name).joined(separator: ",")))")
        }
        var server = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key), trustRoots: .certificates(ca))
        server.minimumTLSVersion = .tlsv13
        var client = TLSConfiguration.makeClientConfiguration()
        client.minimumTLSVersion = .tlsv13
        client.trustRoots = .certificates(ca)
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.certificateVerification = .noHostnameVerification
        return RolePlaneTLS(server: server, client: client, ownRoles: named)
    }

    /// The roles the peer's verified certificate names; empty without one.
    static func peerRoles(_ certificate: NIOSSLCertificate?) -> Set<Address> {
        guard let certificate, let der = try? certificate.toDERBytes() else { return [] }
        return ClusterCertificates.roles(inDER: der)
    }
}
