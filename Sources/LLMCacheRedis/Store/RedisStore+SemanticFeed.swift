import LLMCache
import Logging

extension RedisStore {
    /// Appends an invalidation to the semantic feed, so followers drop the
    /// vectors of the entries it removed. Sets and deletes are appended by the
    /// store's script, atomically with the write; an invalidation is a walk of
    /// many batches, and one message after the walk covers them all.
    ///
    /// A message that cannot be written is logged, not thrown: the entries are
    /// gone either way, and a follower's stale vector is dropped when it is
    /// matched, since the store is the source of truth.
    func publishToSemanticFeed(_ selector: InvalidationSelector) async {
        guard configuration.semanticFeed.isEnabled else { return }
        // A key's removal went out with its delete, from the script.
        if case .key = selector { return }
        var arguments: [any RESPArgument] = [semanticFeedKey, "MAXLEN", "~", configuration.semanticFeed.maximumLength, "*", "op", "inv", "from", instanceID]
        arguments += SemanticFeedMessage.fields(for: selector) as [any RESPArgument]
        do {
            try await client.send(RedisCommand("XADD", arguments: arguments))
        } catch {
            logger.warning("an invalidation could not be added to the semantic feed; other processes drop its vectors only when they match them", metadata: ["selector": "\(selector)", "error": "\(error)"])
        }
    }
}
