import Foundation

enum JSONEncoderFactory {
    static func make() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

enum JSONDecoderFactory {
    static func make() -> JSONDecoder { JSONDecoder() }
}
