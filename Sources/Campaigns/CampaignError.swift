/// Bad input to a campaign (an unreadable summary, a missing folder, overlapping shards):
/// the command prints the message as one line and exits with status 2.
public struct CampaignError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
