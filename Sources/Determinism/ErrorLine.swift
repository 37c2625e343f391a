/// An error as one readable line; a decoding error says what was wrong and where (the field's
/// path). Every reader of user input (traces, scenario and experiment files, HTTP bodies, CLI
/// files) reports with it, so the same mistake reads the same everywhere.
public func oneLine(_ error: Error) -> String {
    guard let decoding = error as? DecodingError else {
        return flattened(String(describing: error))
    }
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "top level" : keys.joined(separator: ".")
    }
    switch decoding {
    case .keyNotFound(let key, let context): return "missing field '\(key.stringValue)' at \(path(context))"
    case .typeMismatch(let type, let context): return "wrong type at \(path(context)), expected \(type)"
    case .valueNotFound(let type, let context): return "null at \(path(context)), expected \(type)"
    case .dataCorrupted(let context):
        let detail = flattened(context.debugDescription)
        return "\(detail) at \(path(context))"
    @unknown default: return String(describing: decoding)
    }
}

private func flattened(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " ")
}
