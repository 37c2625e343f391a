// swift-tools-version: 6.0
// AgentOS-Sim: a coordination middleware for LLM-agent clusters and the deterministic
// simulation framework that tests it. Module boundaries follow ../shared/design.md section 2:
// Sim and Core never import each other; Scenarios is where they meet.
import PackageDescription

/// `agentos mutate` builds a target from its mutant schemata (generated under .build-mutants/)
/// by naming it in AGENTOS_MUTATE_TARGET; every other build reads the sources as they are.
func sources(_ target: String) -> String? {
    Context.environment["AGENTOS_MUTATE_TARGET"] == target ? ".build-mutants/sources/\(target)" : nil
}

let package = Package(
    name: "AgentOSSim",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Determinism", targets: ["Determinism"]),
        .library(name: "Sim", targets: ["Sim"]),
        .library(name: "Core", targets: ["Core"]),
        .library(name: "FakeLLM", targets: ["FakeLLM"]),
        .library(name: "Checks", targets: ["Checks"]),
        .library(name: "SQLiteStore", targets: ["SQLiteStore"]),
        .library(name: "ClusterTest", targets: ["ClusterTest"]),
        .library(name: "Campaigns", targets: ["Campaigns"]),
        .library(name: "Scenarios", targets: ["Scenarios"]),
        .library(name: "PlantedBugs", targets: ["PlantedBugs"]),
        // The core's roles driven together in one process, deterministic, for testing roles.
        .library(name: "CoreTesting", targets: ["CoreTesting"]),
        .executable(name: "agentos", targets: ["agentos"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swiftlang/swift-syntax", from: "603.0.1"),
    ],
    targets: [
        // The leaf every deterministic module shares: random streams, the bounded draw, probabilities,
        // digests, nanosecond time. Sim and Core still never import each other.
        .target(name: "Determinism"),
        .target(
            name: "Sim",
            dependencies: [
                "Determinism",
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: sources("Sim")
        ),
        // The roles as state machines, the messages, the store protocol and its fencing rules:
        // no IO, no database library.
        .target(name: "Core", dependencies: ["Determinism"], path: sources("Core")),
        // The store on SQLite (GRDB): the embedded default and the simulator's store.
        .target(
            name: "SQLiteStore",
            dependencies: ["Core", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")],
            path: sources("SQLiteStore")
        ),
        .target(name: "FakeLLM", dependencies: ["Determinism"], path: sources("FakeLLM")),
        // The judge: one checker per invariant, the suite built from their registry, and the
        // history they read. Simulated and real runs are judged by the same code; nothing here
        // knows the simulator.
        .target(name: "Checks", dependencies: ["Core", "Determinism"], path: sources("Checks")),
        .target(name: "CoreTesting", dependencies: ["Core", "SQLiteStore"]),
        // The simulated disk under the store is an SQLite VFS, so Scenarios reaches SQLite's C API.
        .target(
            name: "Scenarios",
            dependencies: [
                "Sim", "Core", "Checks", "FakeLLM", "SQLiteStore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // Small, plausible mistakes in the core's roles, each a wrapper around a correct role:
        // what `bench find` and the tests plant. Nothing shipped runs them unless asked to.
        .target(
            name: "PlantedBugs",
            dependencies: ["Core", "Determinism", "SQLiteStore", "Scenarios", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The store on PostgreSQL, for real clusters spread over machines (SQLite stays the
        // embedded default and the simulator's store).
        .target(
            name: "PostgresStore",
            dependencies: [
                "Core",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The real shell: the same Core and FakeLLM behind HTTP, with real time.
        .target(
            name: "Server",
            dependencies: [
                "Core", "FakeLLM", "PostgresStore", "SQLiteStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The real-process harness: a cluster of `agentos serve` processes under real faults,
        // judged by Checks (see the header of Sources/ClusterTest/ClusterTest.swift).
        .target(
            name: "ClusterTest",
            dependencies: [
                "Campaigns", "Checks", "Core", "Scenarios", "Server", "Sim", "PostgresStore", "SQLiteStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Many runs as one verdict: seed sweeps and their shards, the reproduction of the
        // reference's experiments; every seed runs in a child process of this binary.
        .target(name: "Campaigns", dependencies: ["Checks", "Mutation", "Scenarios"]),
        // Mutant schemata of a target's sources, written with swift-syntax: what `agentos mutate`
        // builds once and runs mutant by mutant.
        .target(
            name: "Mutation",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftParser", package: "swift-syntax"),
                .product(name: "SwiftOperators", package: "swift-syntax"),
            ]
        ),
        .executableTarget(
            name: "agentos",
            dependencies: [
                "Campaigns", "Sim", "Core", "Checks", "ClusterTest", "Determinism", "FakeLLM", "PlantedBugs", "Scenarios", "Server", "PostgresStore",
                "SQLiteStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SimTests", dependencies: ["Sim", "Determinism"]),
        .testTarget(name: "CoreTests", dependencies: ["Core", "CoreTesting", "PostgresStore", "SQLiteStore"]),
        .testTarget(name: "FakeLLMTests", dependencies: ["FakeLLM"]),
        .testTarget(
            name: "MutationTests",
            dependencies: [
                "Mutation", "Campaigns", "Checks",
                .product(name: "SwiftParser", package: "swift-syntax"), .product(name: "SwiftSyntax", package: "swift-syntax"),
            ]),
        .testTarget(
            name: "ScenarioTests",
            dependencies: ["Campaigns", "Scenarios", "Checks", "Core", "Sim", "FakeLLM", "PlantedBugs", "SQLiteStore", .product(name: "GRDB", package: "GRDB.swift")],
            // The recorded trace hashes, read from the source tree by TraceHashBaselineTests.
            exclude: ["Baselines"]
        ),
        // The real shell's role hosts, transport and listeners in this process, judged by Checks.
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "ClusterTest", "Checks", "Core", "FakeLLM", "SQLiteStore",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Depends on the executable so `swift test` builds the binary the cross-process
        // determinism tests launch.
        .testTarget(
            name: "AgentOSCLITests",
            dependencies: [
                "agentos", "Scenarios", "Checks", "ClusterTest", "Sim", "Core", "FakeLLM", "Server", "PostgresStore", "SQLiteStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
    ]
)
