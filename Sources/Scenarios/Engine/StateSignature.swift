import Core
import Sim

/// An abstract signature of what a run went through, for a guided search to tell runs apart
/// beyond its marks: for every delivery, the receiving and sending roles' kinds, the kind of
/// message delivered, the kind the receiver last handled (a bigram per receiver), and which
/// kinds of fault were active. Hashed into a table of hit counts, as AFL counts edges. Off
/// unless asked for (`ScenarioRun.countsSignature`): it keeps a kind per message in flight.
struct StateSignature {
    static let size = 4096
    private(set) var counts = [UInt32](repeating: 0, count: size)
    private var inFlight: [UInt64: UInt8] = [:]
    private var lastKind: [UInt8]
    private let roleKind: [UInt8]
    private var down = 0
    private var partitions = 0
    private var clogs = 0
    private var delays = 0
    private var paused = 0

    init(directory: Directory) {
        roleKind = directory.names.map { name in
            switch Address(name).role {
            case .gateway?: 1
            case .region?: 2
            case .proxy?: 3
            case .llm?: 4
            case .client?: 5
            case .store?: 6
            default: 7
            }
        }
        lastKind = [UInt8](repeating: 0, count: directory.names.count)
    }

    /// The features reached: each table entry hit, with its count bucketed (entry x 8 + bucket).
    var features: [Int] {
        counts.indices.compactMap { index in counts[index] == 0 ? nil : index * 8 + HitCount.bucket(Int(counts[index])) }
    }

    mutating func observe(_ event: TraceEvent<CoreWorld>) {
        switch event {
        case .send(let id, _, _, let message): inFlight[id] = Self.kind(message)
        case .duplicate(let id, let copy): if let kind = inFlight[id] { inFlight[copy] = kind }
        case .drop(let id, _, _, _): inFlight.removeValue(forKey: id)
        case .deliver(let id, let from, let to):
            guard let kind = inFlight.removeValue(forKey: id) else { return }
            let faults = (down > 0 ? 1 : 0) | (partitions > 0 ? 2 : 0) | (clogs > 0 ? 4 : 0) | (delays > 0 ? 8 : 0) | (paused > 0 ? 16 : 0)
            var hash = UInt64(roleKind[to.index]) &* 0x9E37_79B9_7F4A_7C15
            for part in [UInt64(roleKind[from.index]), UInt64(lastKind[to.index]), UInt64(kind), UInt64(faults)] {
                hash = (hash ^ part) &* 0xBF58_476D_1CE4_E5B9
                hash ^= hash >> 31
            }
            counts[Int(hash % UInt64(Self.size))] &+= 1
            lastKind[to.index] = kind
        case .fault(let action):
            switch action {
            case .crash, .kill, .powerLoss: down += 1
            case .restart: down = max(0, down - 1)
            case .partition: partitions += 1
            case .heal: partitions = max(0, partitions - 1)
            case .clogNode, .clogLink: clogs += 1
            case .unclogNode, .unclogLink: clogs = max(0, clogs - 1)
            case .delayNode, .delayLink: delays += 1
            case .undelayNode, .undelayLink: delays = max(0, delays - 1)
            case .pause: paused += 1
            case .resume: paused = max(0, paused - 1)
            case .healAll: (down, partitions, clogs, delays, paused) = (0, 0, 0, 0, 0)
            case .reseed: break
            }
        case .hold, .timer, .start, .observe: break
        }
    }

    /// A message's kind; store traffic by what it asks or answers, since most messages are it.
    static func kind(_ message: CoreMessage) -> UInt8 {
        switch message {
        case .submit: 1
        case .submitted: 2
        case .submitRejected: 3
        case .submitBusy: 4
        case .statusQuery: 5
        case .statusReply: 6
        case .storeRequest(_, let request):
            switch request {
            case .createTask: 10
            case .getTask: 11
            case .taskStatus: 12
            case .claim: 13
            case .saveProgress: 14
            case .finish: 15
            case .abort: 16
            case .getProgressList: 17
            case .unfinishedTasks: 18
            }
        case .storeReply(_, let reply):
            switch reply {
            case .created: 20
            case .keyConflict: 21
            case .status: 22
            case .task: 23
            case .write(.applied): 24
            case .write(.rejected): 25
            case .progress: 26
            case .tasks: 27
            case .failed: 28
            }
        case .assign: 30
        case .regionHeartbeat: 31
        case .cannotPlace: 32
        case .run: 33
        case .proxyHeartbeat: 34
        case .membership: 35
        case .llmWork: 40
        case .llmWorkReply(_, .text): 41
        case .llmWorkReply(_, .queueFull): 42
        case .llmWorkReply(_, .failed): 43
        case .llmWorkCheck: 44
        case .llmWorkHeld: 45
        case .llmRequest: 46
        case .llmReply(let reply):
            if case .text = reply.result { 47 } else { 48 }
        }
    }
}

/// AFL's hit-count buckets, so "reached 3 times" and "reached 40 times" are different
/// features but 40 and 41 are not.
public enum HitCount {
    /// 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128 and more: buckets 0 to 7.
    public static func bucket(_ hits: Int) -> Int {
        switch hits {
        case ...1: 0
        case 2: 1
        case 3: 2
        case 4...7: 3
        case 8...15: 4
        case 16...31: 5
        case 32...127: 6
        default: 7
        }
    }
}
