import ArgumentParser
import Foundation
import Core
import Server

/// `agentos certs`: the cluster CA and the processes' certificates for mutual TLS on the role plane.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make the cluster's CA and one certificate per process, for `serve --tls-dir`.",
        subcommands: [Init.self, Issue.self])

    static func validate(days: Int) throws {
        guard (1...3650).contains(days) else { throw ValidationError("--days must be 1 to 3650 (got \(days))") }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A new cluster CA in DIR and a certificate for every process of the cluster file (the roles behind each role-plane URL).",
            discussion: """
                Writes ca.pem, ca-key.pem and, per process, ROLES.pem and ROLES-key.pem (ROLES: its roles, sorted, \
                joined by '+'). Give each process DIR (or a copy holding ca.pem and its own two files) as --tls-dir. \
                Keys are written readable by their owner only; move ca-key.pem offline once every process has its files.
                """)

        @Argument(help: "The directory to write (created if missing; an existing CA is never overwritten).")
        var directory: String

        @Option(help: "The cluster file every process is started with.")
        var cluster: String

        @Option(help: "Days the CA and the certificates are valid.")
        var days = 365

        func validate() throws { try CertsCommand.validate(days: days) }

        func run() throws {
            let layout = try loadJSON(ClusterLayout.self, path: cluster, what: "cluster file")
            if let problem = layout.problem() { throw CLIError("cluster file '\(cluster)': \(problem)") }
            do {
                let names = try ClusterCertificates.initialize(directory: directory, layout: layout, days: days)
                print("cluster CA and \(names.count) process certificate(s) in \(directory), valid \(days) days:")
                for name in names { print("  \(name).pem  (serve --roles \(name.replacingOccurrences(of: "+", with: ",")))") }
            } catch let error as ServeError {
                throw CLIError(error.description)
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue or renew one process's certificate with the CA in DIR (rotation, or a process added to the cluster file).")

        @Argument(help: "The directory holding ca.pem and ca-key.pem.")
        var directory: String

        @Option(help: "The process's roles, comma-separated (as given to serve --roles).")
        var roles: String

        @Option(help: "Days the certificate is valid.")
        var days = 365

        func validate() throws { try CertsCommand.validate(days: days) }

        func run() throws {
            let list = Address.list(roles)
            do {
                let name = try ClusterCertificates.issue(directory: directory, roles: list, days: days)
                print("\(name).pem and \(name)-key.pem in \(directory), valid \(days) days")
            } catch let error as ServeError {
                throw CLIError(error.description)
            }
        }
    }
}
