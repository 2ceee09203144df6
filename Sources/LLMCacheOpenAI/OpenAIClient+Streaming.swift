import AsyncHTTPClient
import NIOCore

extension OpenAIClient {
    /// POSTs a streaming request and returns once the provider answered 2xx,
    /// with the body still arriving; its errors come as ``OpenAIError``, as
    /// ``stream(_:body:)`` throws them. Throws ``OpenAIError`` with the status
    /// and body for any other answer. For callers that relay the raw stream,
    /// as ``CachedChatClient`` does through ``CachedStream``.
    package func openStream(_ path: String, body: [UInt8]) async throws -> ErrorMappingSequence<HTTPClientResponse.Body> {
        do {
            let response = try await httpClient.execute(makeRequest(.POST, path: path, body: body), deadline: deadline(), logger: logger)
            guard (200..<300).contains(Int(response.status.code)) else {
                let answer = try await response.body.collect(upTo: configuration.maximumResponseBytes)
                throw OpenAIError.upstream(status: Int(response.status.code), body: Array(answer.readableBytesView))
            }
            return ErrorMappingSequence(response.body, transform: Self.classifyStreamError)
        } catch {
            throw Self.classify(error)
        }
    }

    /// An error while reading a stream that has begun. A connection that
    /// breaks then cuts the stream short: for callers the same case as a
    /// stream without `[DONE]`.
    static func classifyStreamError(_ error: any Error) -> any Error {
        let failure = classify(error)
        guard let openAI = failure as? OpenAIError, openAI.code == .transport else { return failure }
        return OpenAIError(.incompleteStream, "the stream broke off before [DONE] (\(error)): the provider or the connection stopped early; retry the call")
    }
}
