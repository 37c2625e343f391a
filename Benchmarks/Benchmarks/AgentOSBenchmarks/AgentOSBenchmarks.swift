// Micro-benchmarks of the hot paths the end-to-end `agentos bench` figures are made of: the
// kernel's event loop, the trace hash of a message, a fenced store write, a client's status poll
// of the store, and a fake-LLM answer.
// Each reports wall clock, throughput and allocations; `Thresholds/` holds the p90 figures of
// the last accepted run, and `swift package benchmark thresholds check` fails on a regression
// beyond the tolerances below.
import Benchmark
import Core
import Determinism
import FakeLLM
import Scenarios
import Sim

/// Tolerances for `thresholds check`, in percent of the stored p50 and p90: wall time varies
/// from machine to machine and run to run, allocation counts do not.
func configuration(_ seconds: Int = 3) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 3, maxDuration: .seconds(seconds),
        thresholds: [
            .wallClock: BenchmarkThresholds(relative: [.p50: 25, .p90: 35]),
            .throughput: BenchmarkThresholds(relative: [.p50: 25, .p90: 35]),
            .mallocCountTotal: BenchmarkThresholds(relative: [.p50: 5, .p90: 5]),
        ])
}

let benchmarks: @Sendable () -> Void = {
    // One iteration is 10,000 queue events of `bench kernel`'s workload: 64 nodes, 32 messages
    // in flight each, the default LAN latencies, hashing on. The run continues from one iteration to
    // the next, as a long run would.
    Benchmark("kernel-10k-events", configuration: configuration()) { (benchmark: Benchmark, simulation: Simulation<GossipWorld>) in
        for _ in benchmark.scaledIterations {
            GossipRun.runSteps(simulation, steps: 10_000)
        }
        blackHole(simulation.fingerprint.value)
    } setup: {
        let config = GossipConfig(nodes: 64, tokensPerNode: 32, faults: .none)
        return try GossipRun.makeSimulation(seed: 1, config: config, faults: [])
    }

    // The trace hash of the largest common message: an LLM call with a 1 KiB prompt.
    let work = CoreMessage.llmWork(
        LLMWork(
            callID: 42, owner: "proxy-1", taskID: 7, node: "n3", kind: .generation,
            prompt: String(repeating: "Write a function that adds two numbers. ", count: 26), stop: ["OUTPUT:"],
            maxTokens: 2_000, totalCalls: 12, remainingHalfCalls: 3))
    Benchmark("trace-hash-llm-work", configuration: configuration()) { benchmark in
        for _ in benchmark.scaledIterations {
            var hasher = TraceHash()
            work.stableHash(into: &hasher)
            blackHole(hasher.value)
        }
    }

    // A fenced progress write on the embedded store (in-memory SQLite): each iteration saves a
    // new node's result at the owner's epoch, as a proxy does after every node.
    Benchmark("store-fenced-write", configuration: configuration()) { (benchmark: Benchmark, state: (TaskStore, TaskID, Epoch)) throws in
        let (store, task, epoch) = state
        for iteration in benchmark.scaledIterations {
            let outcome = try store.saveProgress(task, node: "n\(iteration)-\(benchmark.currentIteration)", epoch: epoch, result: "result", inputDigest: "0x1")
            blackHole(outcome)
        }
    } setup: {
        let store = try TaskStore()
        let task = try store.createTask(userID: 1, taskType: "code_generation", description: "bench").taskID
        let epoch = Epoch(global: 1, regional: 1)
        _ = try store.claim(task, epoch: epoch, region: "region-1", proxy: "proxy-1")
        return (store, task, epoch)
    }

    // A client's status poll of a running task with eight saved nodes, as the store answers it
    // between writes: from the read cache, once SQLite's data version says no other connection
    // committed. Reading the row and counting the nodes through SQLite instead costs several
    // times as much, so a cache that stopped answering would fail the check.
    Benchmark("store-status-poll", configuration: configuration()) { (benchmark: Benchmark, state: (TaskStore, TaskID)) throws in
        let (store, task) = state
        for _ in benchmark.scaledIterations {
            blackHole(try store.taskStatus(task))
        }
    } setup: {
        let store = try TaskStore()
        let task = try store.createTask(userID: 1, taskType: "code_generation", description: "bench").taskID
        let epoch = Epoch(global: 1, regional: 1)
        _ = try store.claim(task, epoch: epoch, region: "region-1", proxy: "proxy-1")
        for node in 0..<8 { _ = try store.saveProgress(task, node: "n\(node)", epoch: epoch, result: "result", inputDigest: "0x1") }
        return (store, task)
    }

    // One fake-LLM answer: classify the prompt, draw the latency and faults, write the text.
    let generator = FakeLLMGenerator(config: FakeLLMProfile.flaky.config)
    let request = ChatRequest(
        model: "fake", messages: [ChatMessage(role: "user", content: Prompts.generation(task: "Add two numbers.", parentResults: [], hints: nil))],
        maxTokens: 2_000, stop: Prompts.generationStops(finalRound: false))
    Benchmark("fake-llm-answer", configuration: configuration()) { benchmark in
        var random = SeededSource(seed: 1)
        for iteration in benchmark.scaledIterations {
            blackHole(generator.generate(request, callNumber: UInt64(iteration), now: 0, random: &random))
        }
    }
}
