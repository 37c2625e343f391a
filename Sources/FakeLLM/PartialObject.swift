import Foundation

/// A JSON object holding only some fields of a configuration struct. Merging it over a full
/// value lets files override single knobs while every field keeps its own type checks.
struct PartialObject: Decodable {
    let fields: [String: JSONValue]

    init(from decoder: Decoder) throws {
        fields = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    func applied<T: Codable>(to base: T, codingPath: [CodingKey]) throws -> T {
        let encoded = try JSONEncoder().encode(base)
        guard case .object(var merged) = try JSONDecoder().decode(JSONValue.self, from: encoded) else {
            preconditionFailure("a configuration struct must encode as a JSON object")
        }
        // Sorted so an unknown-field error always names the same field first.
        for key in fields.keys.sorted() {
            guard merged[key] != nil else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: codingPath, debugDescription: "unknown field '\(key)' (known: \(merged.keys.sorted().joined(separator: ", ")))"))
            }
            merged[key] = fields[key]
        }
        do {
            return try JSONDecoder().decode(T.self, from: try JSONEncoder().encode(JSONValue.object(merged)))
        } catch let DecodingError.typeMismatch(type, context) {
            throw DecodingError.typeMismatch(type, .init(codingPath: codingPath + context.codingPath, debugDescription: context.debugDescription))
        } catch let DecodingError.dataCorrupted(context) {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + context.codingPath, debugDescription: context.debugDescription))
        }
    }
}

/// Any JSON value, for merging partial objects.
enum JSONValue: Codable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
