import Checks
import Core
import FakeLLM
import Sim

/// The simulator's adapter around a role's `RoleRuntime`: the kernel's inputs become the
/// role's, and the runtime's actions become kernel sends, timers and observations.
struct CoreProcess: SimProcess {
    typealias World = CoreWorld

    var runtime: RoleRuntime
    let directory: Directory

    init(machine: any CoreMachine, address: Address, incarnation: UInt32, directory: Directory) {
        // The kernel fires only a timer's latest arming, so the runtime need not track them.
        runtime = RoleRuntime(machine: machine, address: address, incarnation: incarnation, tracksTimers: false)
        self.directory = directory
    }

    mutating func handle(_ input: ProcessInput<CoreWorld>, context: inout ProcessContext<CoreWorld>) {
        let coreInput: CoreInput
        switch input {
        case .start: coreInput = .start
        case .message(let from, let message): coreInput = .message(from: directory.address(from), message)
        case .timer(.core(let timer)):
            // The kernel fires only a timer's latest arming.
            guard runtime.fires(timer, generation: nil) else { return }
            coreInput = .timer(timer)
        case .timer: return
        }
        let directory = self.directory
        // The role draws only while it handles the input, before any action is performed.
        var random = context.random
        defer { context.random = random }
        runtime.handle(coreInput, now: context.now, random: &random) { action in
            switch action {
            case .deliver(let to, let message): context.send(message, to: directory.id(to))
            case .arm(let timer, let delay, _): context.setTimer(.core(timer), after: delay)
            case .disarm(let timer): context.cancelTimer(.core(timer))
            case .observe(let observation): context.observe(.core(observation))
            }
        }
    }
}

/// A fake LLM server as a simulated node: `FakeLLMEndpoint` answers in virtual time.
struct LLMEndpointProcess: SimProcess {
    typealias World = CoreWorld

    struct Pending {
        var caller: NodeID
        var request: LLMRequest
        /// What the endpoint read from the prompt, kept for the call's record.
        var kind: PromptKind
        var promptDigest: UInt64
        var outcome: ChatOutcome?
        var fault: String?
    }

    var endpoint: FakeLLMEndpoint
    var pending: [UInt64: Pending] = [:]
    var nextCall: UInt64 = 0

    /// `cassette`: recorded calls that answer first, shared by every endpoint of the run.
    init(config: FakeLLMConfig, name: String, cassette: Cassette? = nil) {
        endpoint = FakeLLMEndpoint(config: config)
        endpoint.name = name
        endpoint.cassette = cassette
    }

    mutating func handle(_ input: ProcessInput<CoreWorld>, context: inout ProcessContext<CoreWorld>) {
        switch input {
        case .message(let from, .llmRequest(let request)):
            nextCall += 1
            var chat = ChatRequest(
                model: endpoint.config.model, messages: [ChatMessage(role: "user", content: request.prompt)], maxTokens: request.maxTokens,
                stop: request.stop)
            // Labelled as the real shell labels its calls, so a cassette's entries and misses
            // name their task and node (only with a cassette: the generator never reads them).
            if endpoint.cassette != nil { chat.metadata = [Cassette.taskLabel: String(request.task), Cassette.nodeLabel: request.node] }
            // The prompt is read once, for the answer and for the record.
            let (facts, promptDigest) = PromptFacts.userMessage(request.prompt)
            pending[nextCall] = Pending(caller: from, request: request, kind: facts.kind, promptDigest: promptDigest, outcome: nil, fault: nil)
            apply(endpoint.receive(chat, id: nextCall, now: context.now, random: &context.random, facts: facts), &context)
        case .timer(.llmDone(let callID)):
            guard let call = pending.removeValue(forKey: callID) else { return }
            if let outcome = call.outcome { reply(call, outcome, &context) } else { context.observe(.llm(Self.record(call, answer: nil, status: 0))) }
            apply(endpoint.finish(id: callID, now: context.now), &context)
        case .timer(.llmWake):
            apply(endpoint.wake(now: context.now), &context)
        default:
            break
        }
    }

    private mutating func apply(_ actions: [EndpointAction], _ context: inout ProcessContext<CoreWorld>) {
        for action in actions {
            switch action {
            case .reject(let id, let failure):
                if let call = pending.removeValue(forKey: id) { reply(call, .failure(failure), &context) }
            case .complete(let id, let at, let outcome, let fault):
                pending[id]?.outcome = outcome
                pending[id]?.fault = fault
                context.setTimer(.llmDone(callID: id), after: max(.zero, at - context.now))
            case .wake(let at):
                context.setTimer(.llmWake, after: max(.zero, at - context.now))
            case .answer(let id, let outcome, let fault):
                guard var call = pending.removeValue(forKey: id) else { continue }
                call.fault = fault
                if let outcome { reply(call, outcome, &context) } else { context.observe(.llm(Self.record(call, answer: nil, status: 0))) }
            }
        }
    }

    private func reply(_ call: Pending, _ outcome: ChatOutcome, _ context: inout ProcessContext<CoreWorld>) {
        let result: LLMReply.Result
        switch outcome {
        case .success(let response):
            result = .text(response.content)
            context.observe(.llm(Self.record(call, answer: response.content, status: 200)))
        case .failure(let failure):
            result = .error(status: failure.status, message: failure.error.message, retryAfter: failure.retryAfter)
            context.observe(.llm(Self.record(call, answer: nil, status: failure.status)))
        }
        context.send(.llmReply(LLMReply(id: call.request.id, result: result)), to: call.caller)
    }

    static func record(_ call: Pending, answer: String?, status: Int) -> LLMCallRecord {
        LLMCallRecord(
            task: call.request.task, node: call.request.node, prompt: call.request.prompt, kind: call.kind, promptDigest: call.promptDigest,
            answer: answer, status: status, fault: call.fault)
    }
}
