import Core
import Foundation
import Hummingbird
import NIOCore

/// The seed's client API, unchanged so its clients work: `POST /query` answering
/// `{"success": true, "task_id": N}`, and `GET /task/status?task_id=N` answering `pending`,
/// `completed` (with `success` and `result`), `aborted`, or `non_exist`. Bad input gets a 4xx
/// with `{"success": false, "err": ...}`.
struct GatewayAPI {
    let bridge: ClientBridge
    let metrics: ServerMetrics
    let bodyLimit: Int

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/query") { request, _ in
            var request = request
            let query: Query
            do {
                let body = try await request.collectBody(upTo: bodyLimit)
                query = try JSONDecoder().decode(Query.self, from: Data(buffer: body))
            } catch let error as DecodingError {
                return jsonResponse(.badRequest, APIError(success: false, err: "the body is not a query: \(describe(error))"))
            } catch {
                return jsonResponse(.contentTooLarge, APIError(success: false, err: "the body exceeds \(bodyLimit) bytes"))
            }
            switch await bridge.submit(query) {
            case .submitted(let task): return jsonResponse(.ok, Submitted(success: true, taskID: task))
            case .rejected(let reason): return jsonResponse(.badRequest, APIError(success: false, err: reason))
            default: return jsonResponse(.serviceUnavailable, APIError(success: false, err: "the gateway did not answer in time; retry"))
            }
        }
        router.get("/task/status") { request, _ in
            guard let raw = request.uri.queryParameters["task_id"] else {
                return jsonResponse(.badRequest, APIError(success: false, err: "missing query parameter task_id"))
            }
            guard let task = TaskID(String(raw)), task > 0 else {
                return jsonResponse(.badRequest, APIError(success: false, err: "task_id must be a positive integer, got '\(raw)'"))
            }
            guard case .status(let status) = await bridge.status(task) else {
                return jsonResponse(.serviceUnavailable, APIError(success: false, err: "the gateway did not answer in time; retry"))
            }
            switch status {
            case .pending: return jsonResponse(.ok, Pending(status: "pending", phase: "pending"))
            case .running: return jsonResponse(.ok, Pending(status: "pending", phase: "running"))
            case .completed(let result): return jsonResponse(.ok, Finished(status: "completed", success: true, result: result, err: nil))
            case .aborted(let reason): return jsonResponse(.ok, Finished(status: "aborted", success: false, result: nil, err: reason))
            case .nonExist: return jsonResponse(.notFound, NonExist(status: "non_exist", err: "task \(task) does not exist"))
            }
        }
    }
}

struct Submitted: Encodable {
    let success: Bool
    let taskID: TaskID
    enum CodingKeys: String, CodingKey {
        case success
        case taskID = "task_id"
    }
}

struct Pending: Encodable {
    let status: String
    /// `pending` (not started yet) or `running`; the seed's clients read only `status`.
    let phase: String
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
