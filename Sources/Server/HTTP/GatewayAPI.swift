import Core
import Determinism
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The seed's client API, unchanged so its clients work: `POST /query` answering
/// `{"success": true, "task_id": N}`, and `GET /task/status?task_id=N` answering `pending`
/// (with the seed's `term` and `round`), `completed` (with `success` and `result`), `aborted`,
/// or `non_exist`. Bad input gets a 4xx with `{"success": false, "err": ...}`.
///
/// Additions, all optional for clients: an idempotency key (`Idempotency-Key` header or
/// `request_id` field) so a retried query maps to one task; `503` with `Retry-After` when the
/// cluster is full (admission control: nothing was created) or the gateway did not answer in
/// time (the answer names the key to retry with, so a task the gateway may have created is
/// found, not duplicated).
struct GatewayAPI {
    let bridge: ClientBridge
    let metrics: ServerMetrics
    let bodyLimit: Int

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.on(.query) { request, _ in
            var request = request
            guard Self.isJSON(request.headers[.contentType]) else {
                return jsonResponse(.unsupportedMediaType, APIError(success: false, err: "the body must be JSON, sent with Content-Type: application/json"))
            }
            var query: Query
            do {
                let body = try await request.collectBody(upTo: bodyLimit)
                query = try JSONDecoder().decode(Query.self, from: Data(buffer: body))
            } catch let error as DecodingError {
                return jsonResponse(.badRequest, APIError(success: false, err: "the body is not a query: \(oneLine(error))"))
            } catch {
                return jsonResponse(.contentTooLarge, APIError(success: false, err: "the body exceeds \(bodyLimit) bytes"))
            }
            if let header = request.headers[HTTPField.Name("Idempotency-Key")!] {
                if let field = query.requestKey, field != header {
                    return jsonResponse(.badRequest, APIError(success: false, err: "the Idempotency-Key header and the request_id field differ"))
                }
                query.requestKey = header
            }
            let explicitKey = query.requestKey != nil
            if !explicitKey { query.requestKey = await bridge.makeRequestKey() }
            let key = query.requestKey!
            switch await bridge.submit(query) {
            case .submitted(let task):
                return jsonResponse(.ok, Submitted(success: true, taskID: task, requestID: explicitKey ? key : nil))
            case .rejected(let reason):
                return jsonResponse(.badRequest, APIError(success: false, err: reason))
            case .busy(let retryAfter, let reason):
                // The key goes back too: a store that failed mid-create may have stored the task,
                // and a retry with the same key reaches it.
                return jsonResponse(
                    .serviceUnavailable, Refused(success: false, err: reason, requestID: key), headers: [.retryAfter: Self.seconds(retryAfter)])
            default:
                return jsonResponse(
                    .serviceUnavailable,
                    Refused(
                        success: false, err: "the gateway did not answer in time; retry with request_id \(key) to reach the task it may have created",
                        requestID: key), headers: [.retryAfter: "1"])
            }
        }
        router.on(.taskStatus) { request, _ in
            guard let raw = request.uri.queryParameters["task_id"] else {
                return jsonResponse(.badRequest, APIError(success: false, err: "missing query parameter task_id"))
            }
            guard let task = Self.taskID(String(raw)) else {
                return jsonResponse(.badRequest, APIError(success: false, err: "task_id must be a positive integer, got '\(raw)'"))
            }
            guard case .status(let status) = await bridge.status(task) else {
                return jsonResponse(.serviceUnavailable, APIError(success: false, err: "the gateway did not answer in time; retry"), headers: [.retryAfter: "1"])
            }
            switch status {
            case .pending:
                return jsonResponse(.ok, Pending(status: "pending", phase: "pending", term: 0, round: 0, epoch: nil))
            case .running(let epoch, let saved):
                return jsonResponse(
                    .ok, Pending(status: "pending", phase: "running", term: epoch.regional, round: saved, epoch: EpochBody(epoch)))
            case .completed(let result): return jsonResponse(.ok, Finished(status: "completed", success: true, result: result, err: nil))
            case .aborted(let reason): return jsonResponse(.ok, Finished(status: "aborted", success: false, result: nil, err: reason))
            case .nonExist: return jsonResponse(.notFound, NonExist(status: "non_exist", err: "task \(task) does not exist"))
            }
        }
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return media == "application/json"
    }

    /// Digits only, no sign, spaces or leading zeros beyond one digit, within TaskID's range.
    static func taskID(_ text: String) -> TaskID? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard let value = TaskID(text), value > 0 else { return nil }
        return value
    }

    /// Whole seconds, rounded up, as `Retry-After` requires.
    static func seconds(_ interval: Interval) -> String { String(max(1, (interval.nanoseconds + 999_999_999) / 1_000_000_000)) }
}

struct Submitted: Encodable {
    let success: Bool
    let taskID: TaskID
    /// Echoed when the client gave one.
    let requestID: String?
    enum CodingKeys: String, CodingKey {
        case success
        case taskID = "task_id"
        case requestID = "request_id"
    }
}

struct Refused: Encodable {
    let success: Bool
    let err: String
    let requestID: String?
    enum CodingKeys: String, CodingKey {
        case success, err
        case requestID = "request_id"
    }
}

struct EpochBody: Encodable {
    let global: Int64
    let regional: Int64
    init(_ epoch: Epoch) {
        global = epoch.global
        regional = epoch.regional
    }
}

/// A task not finished yet. The seed's clients read `status`, and its demo client prints `term`
/// and `round`: here `term` is the owner's regional epoch and `round` the node results saved
/// so far; `epoch` gives the whole fence and `phase` says whether an owner has it yet.
struct Pending: Encodable {
    let status: String
    let phase: String
    let term: Int64
    let round: Int
    let epoch: EpochBody?
}

struct Finished: Encodable {
    let status: String
    let success: Bool
    let result: String?
    let err: String?
}

struct NonExist: Encodable {
    let status: String
    let err: String
}
