// swift-tools-version: 6.1
// Micro-benchmarks of AgentOS-Sim's hot paths on ordo-one/benchmark (package-benchmark), with
// p90 thresholds stored in Thresholds/ so that a regression fails `thresholds check`.
// A package of its own, so that the main package (and everyone who depends on it) never
// resolves the benchmark harness. Run from this directory:
//   swift package benchmark
//   swift package benchmark thresholds check
import Foundation
import PackageDescription

// A path dependency is identified by its directory's name, which is whatever the clone is
// called (`main`, `AgentOS-Sim`, a CI work directory): read it rather than guess it.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "AgentOSBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: root.path),
        // Only the malloc interposer: the default `RuntimeInterposer` trait needs
        // swift-runtime-interposer, which the toolchain's 6.3 runtime hooks make unnecessary here.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "AgentOSBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Determinism", package: rootIdentity),
                .product(name: "Sim", package: rootIdentity),
                .product(name: "Core", package: rootIdentity),
                .product(name: "FakeLLM", package: rootIdentity),
                .product(name: "Scenarios", package: rootIdentity),
            ],
            path: "Benchmarks/AgentOSBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
