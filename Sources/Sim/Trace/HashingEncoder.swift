/// Feeds any `Encodable` value's canonical encoding straight into the trace hash: keys and
/// values in the order the type encodes them (declaration order for synthesised conformances),
/// with tags that keep structure apart. No text is built, so hashing a message costs far less
/// than encoding it as JSON. This is the default `stableHash` of every `SimPayload`.
public enum StableHashing {
    public static func hash<T: Encodable>(_ value: T, into hasher: inout TraceHash) {
        let sink = HashSink(hasher)
        do {
            try value.encode(to: HashingEncoder(sink: sink))
        } catch {
            preconditionFailure("a payload failed to encode for hashing: \(error)")
        }
        hasher = sink.hasher
    }
}

extension SimPayload {
    public func stableHash(into hasher: inout TraceHash) {
        StableHashing.hash(self, into: &hasher)
    }
}

final class HashSink {
    var hasher: TraceHash
    init(_ hasher: TraceHash) { self.hasher = hasher }

    @inline(__always) func tag(_ byte: UInt8) { hasher.combine(byte: byte) }
}

struct HashingEncoder: Encoder {
    let sink: HashSink
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        sink.tag(0xF1)
        return KeyedEncodingContainer(KeyedHashing<Key>(sink: sink))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        sink.tag(0xF2)
        return UnkeyedHashing(sink: sink)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleHashing(sink: sink) }
}

/// Primitive values, each behind a type tag so `1` (Int) and `true` never collide.
protocol HashingPrimitives {
    var sink: HashSink { get }
}

extension HashingPrimitives {
    func put(_ value: Bool) { sink.tag(1); sink.hasher.combine(value) }
    func put(_ value: String) { sink.tag(2); sink.hasher.combine(value) }
    func put(_ value: Double) { sink.tag(3); sink.hasher.combine(value.bitPattern) }
    func put(_ value: Float) { sink.tag(4); sink.hasher.combine(UInt64(value.bitPattern)) }
    func put(_ value: Int64) { sink.tag(5); sink.hasher.combine(value) }
    func put(_ value: UInt64) { sink.tag(6); sink.hasher.combine(value) }
    func putNil() { sink.tag(7) }
    func put<T: Encodable>(_ value: T) throws {
        switch value {
        case let v as String: put(v)
        case let v as Int: put(Int64(v))
        case let v as Int64: put(v)
        case let v as UInt64: put(v)
        case let v as Bool: put(v)
        default:
            // A dictionary encodes in its iteration order, which is seeded per process: its
            // hash would differ between two runs of the same seed.
            precondition(
                !(value is any UnorderedCollectionMarker),
                "\(T.self) in a simulated payload: dictionaries and sets break hash determinism; use a sorted array")
            try value.encode(to: HashingEncoder(sink: sink))
        }
    }
}

struct KeyedHashing<Key: CodingKey>: KeyedEncodingContainerProtocol, HashingPrimitives {
    let sink: HashSink
    var codingPath: [CodingKey] = []

    func key(_ key: Key) { sink.hasher.combine(key.stringValue) }

    mutating func encodeNil(forKey key: Key) throws { self.key(key); putNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { self.key(key); put(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { self.key(key); put(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { self.key(key); put(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { self.key(key); put(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { self.key(key); put(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { self.key(key); put(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { self.key(key); put(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { self.key(key); put(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { self.key(key); put(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { self.key(key); put(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { self.key(key); put(UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { self.key(key); put(UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { self.key(key); put(UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { self.key(key); put(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { self.key(key); try put(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        self.key(key)
        return HashingEncoder(sink: sink).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        self.key(key)
        return HashingEncoder(sink: sink).unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder { HashingEncoder(sink: sink) }
    mutating func superEncoder(forKey key: Key) -> Encoder { self.key(key); return HashingEncoder(sink: sink) }
}

struct UnkeyedHashing: UnkeyedEncodingContainer, HashingPrimitives {
    let sink: HashSink
    var codingPath: [CodingKey] = []
    var count = 0

    mutating func next() { count += 1; sink.tag(0xF3) }

    mutating func encodeNil() throws { next(); putNil() }
    mutating func encode(_ value: Bool) throws { next(); put(value) }
    mutating func encode(_ value: String) throws { next(); put(value) }
    mutating func encode(_ value: Double) throws { next(); put(value) }
    mutating func encode(_ value: Float) throws { next(); put(value) }
    mutating func encode(_ value: Int) throws { next(); put(Int64(value)) }
    mutating func encode(_ value: Int8) throws { next(); put(Int64(value)) }
    mutating func encode(_ value: Int16) throws { next(); put(Int64(value)) }
    mutating func encode(_ value: Int32) throws { next(); put(Int64(value)) }
    mutating func encode(_ value: Int64) throws { next(); put(value) }
    mutating func encode(_ value: UInt) throws { next(); put(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { next(); put(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { next(); put(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { next(); put(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { next(); put(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { next(); try put(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next()
        return HashingEncoder(sink: sink).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        next()
        return HashingEncoder(sink: sink).unkeyedContainer()
    }

    mutating func superEncoder() -> Encoder { next(); return HashingEncoder(sink: sink) }
}

struct SingleHashing: SingleValueEncodingContainer, HashingPrimitives {
    let sink: HashSink
    var codingPath: [CodingKey] = []

    mutating func encodeNil() throws { putNil() }
    mutating func encode(_ value: Bool) throws { put(value) }
    mutating func encode(_ value: String) throws { put(value) }
    mutating func encode(_ value: Double) throws { put(value) }
    mutating func encode(_ value: Float) throws { put(value) }
    mutating func encode(_ value: Int) throws { put(Int64(value)) }
    mutating func encode(_ value: Int8) throws { put(Int64(value)) }
    mutating func encode(_ value: Int16) throws { put(Int64(value)) }
    mutating func encode(_ value: Int32) throws { put(Int64(value)) }
    mutating func encode(_ value: Int64) throws { put(value) }
    mutating func encode(_ value: UInt) throws { put(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { put(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { put(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { put(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { put(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try put(value) }
}

/// Collections whose encoding order is their iteration order, seeded per process.
protocol UnorderedCollectionMarker {}
extension Dictionary: UnorderedCollectionMarker {}
extension Set: UnorderedCollectionMarker {}
