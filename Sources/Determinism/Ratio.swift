/// A probability as an exact integer ratio, so that no decision ever depends on floating point.
public struct Ratio: Codable, Hashable, Sendable, CustomStringConvertible {
    public let numerator: UInt64
    public let denominator: UInt64

    public init(_ numerator: UInt64, _ denominator: UInt64) {
        precondition(denominator > 0, "ratio denominator must be positive (\(numerator)/\(denominator))")
        precondition(numerator <= denominator, "ratio must be at most 1 (\(numerator)/\(denominator))")
        self.numerator = numerator
        self.denominator = denominator
    }

    public static let never = Ratio(0, 1)
    public static let always = Ratio(1, 1)
    public static func percent(_ value: UInt64) -> Ratio { Ratio(value, 100) }
    public static func perMille(_ value: UInt64) -> Ratio { Ratio(value, 1000) }
    public static func oneIn(_ value: UInt64) -> Ratio { Ratio(1, value) }

    public var description: String { "\(numerator)/\(denominator)" }

    // Encoded as [numerator, denominator] so scenario files stay short and readable.
    public init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        let numerator = try container.decode(UInt64.self)
        let denominator = try container.decode(UInt64.self)
        guard denominator > 0, numerator <= denominator else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "ratio [\(numerator), \(denominator)] must satisfy 0 <= n <= d, d > 0")
        }
        self.init(numerator, denominator)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(numerator)
        try container.encode(denominator)
    }
}
