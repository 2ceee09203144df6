/// Bodies and stream events in the shapes the OpenAI API sends them, member
/// order, `null`s and nested usage details included, so that parsing is
/// tested against what arrives on the wire rather than what a test writer
/// would produce. Ids and fingerprints are of the kind OpenAI issues.
enum Captured {
    /// `POST /v1/chat/completions` with `"stream": true,
    /// "stream_options": {"include_usage": true}`: a role chunk with empty
    /// content, content deltas, the finish chunk, then a usage chunk with no
    /// choices. With `include_usage`, every earlier chunk carries `"usage": null`.
    static let textStream: [String] = [
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":" How"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":" can"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":" I"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":" help"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":"?"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#,
    ]

    /// The text the deltas of ``textStream`` add up to.
    static let textStreamContent = "Hello! How can I help?"

    /// Two parallel calls of one tool: a role chunk with `"content": null`,
    /// then per call a first piece with index, id, type, name and empty
    /// arguments, then argument pieces carrying only the index, then
    /// `finish_reason: "tool_calls"`. No usage: not requested.
    static let toolCallStream: [String] = [
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":null},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_8fMGCNaZbV7WLkl9VYoDFzaa","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\":\""}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"Paris"}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"}"}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_Xq1tJ3Lw2mKzS9dPfB6hYc4e","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\""}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"location"}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\":\""}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"Tokyo"}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"}"}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUc2xEoZ0Ms8mYkqH0vb1DkP9fRt","object":"chat.completion.chunk","created":1744460066,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}"#,
    ]

    /// A structured-output request the model declined: the role chunk has
    /// `"content": null, "refusal": ""`, the text comes as refusal deltas.
    static let refusalStream: [String] = [
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":"I'm"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":" sorry"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":","},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":" I"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":" can't"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":" assist"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":" with"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":" that"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":" request"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{"refusal":"."},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUdJ4wq8sV0aHcR3oT2nYxKfG7Lm","object":"chat.completion.chunk","created":1744460145,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_f5bdcc3276","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
    ]

    /// The refusal ``refusalStream`` adds up to.
    static let refusalText = "I'm sorry, I can't assist with that request."

    /// `"n": 2`: each choice has its own role chunk and its deltas come
    /// interleaved with the other's, told apart by `index` only.
    static let twoChoiceStream: [String] = [
        #"{"id":"chatcmpl-BLUeP1nV7yqT4bWmA9kX2rZsJcE5u","object":"chat.completion.chunk","created":1744460201,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUeP1nV7yqT4bWmA9kX2rZsJcE5u","object":"chat.completion.chunk","created":1744460201,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":1,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUeP1nV7yqT4bWmA9kX2rZsJcE5u","object":"chat.completion.chunk","created":1744460201,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":1,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUeP1nV7yqT4bWmA9kX2rZsJcE5u","object":"chat.completion.chunk","created":1744460201,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUeP1nV7yqT4bWmA9kX2rZsJcE5u","object":"chat.completion.chunk","created":1744460201,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{"content":" there"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUeP1nV7yqT4bWmA9kX2rZsJcE5u","object":"chat.completion.chunk","created":1744460201,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":1,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-BLUeP1nV7yqT4bWmA9kX2rZsJcE5u","object":"chat.completion.chunk","created":1744460201,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":1,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
        #"{"id":"chatcmpl-BLUeP1nV7yqT4bWmA9kX2rZsJcE5u","object":"chat.completion.chunk","created":1744460201,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_44added55e","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}"#,
    ]

    /// Legacy `POST /v1/completions` with `"stream": true`
    /// (`gpt-3.5-turbo-instruct`): `text_completion` objects with `text` pieces.
    static let legacyStream: [String] = [
        #"{"id":"cmpl-9Yj1hT0dTk3nWbWcZkcW5Zx4pQh2B","object":"text_completion","created":1718000000,"choices":[{"text":"\n\n","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
        #"{"id":"cmpl-9Yj1hT0dTk3nWbWcZkcW5Zx4pQh2B","object":"text_completion","created":1718000000,"choices":[{"text":"This","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
        #"{"id":"cmpl-9Yj1hT0dTk3nWbWcZkcW5Zx4pQh2B","object":"text_completion","created":1718000000,"choices":[{"text":" is","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
        #"{"id":"cmpl-9Yj1hT0dTk3nWbWcZkcW5Zx4pQh2B","object":"text_completion","created":1718000000,"choices":[{"text":" a","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
        #"{"id":"cmpl-9Yj1hT0dTk3nWbWcZkcW5Zx4pQh2B","object":"text_completion","created":1718000000,"choices":[{"text":" test","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
        #"{"id":"cmpl-9Yj1hT0dTk3nWbWcZkcW5Zx4pQh2B","object":"text_completion","created":1718000000,"choices":[{"text":".","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
        #"{"id":"cmpl-9Yj1hT0dTk3nWbWcZkcW5Zx4pQh2B","object":"text_completion","created":1718000000,"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}],"model":"gpt-3.5-turbo-instruct"}"#,
    ]

    /// The event OpenAI sends in place of further chunks when generation
    /// fails part-way through a stream.
    static let streamError = #"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#

    /// A non-streamed `chat.completion`.
    static let chatCompletion = #"""
    {
      "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
      "object": "chat.completion",
      "created": 1741569952,
      "model": "gpt-4o-mini-2024-07-18",
      "choices": [
        {
          "index": 0,
          "message": {
            "role": "assistant",
            "content": "Hello! How can I assist you today?",
            "refusal": null,
            "annotations": []
          },
          "logprobs": null,
          "finish_reason": "stop"
        }
      ],
      "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {
          "cached_tokens": 0,
          "audio_tokens": 0
        },
        "completion_tokens_details": {
          "reasoning_tokens": 0,
          "audio_tokens": 0,
          "accepted_prediction_tokens": 0,
          "rejected_prediction_tokens": 0
        }
      },
      "service_tier": "default",
      "system_fingerprint": "fp_06737a9306"
    }
    """#

    /// A non-streamed answer that calls a tool: `content` is null.
    static let toolCallCompletion = #"""
    {
      "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
      "object": "chat.completion",
      "created": 1741570283,
      "model": "gpt-4o-2024-08-06",
      "choices": [
        {
          "index": 0,
          "message": {
            "role": "assistant",
            "content": null,
            "tool_calls": [
              {
                "id": "call_WjiEsRqXDzLkDVwq2ZDzrNt0",
                "type": "function",
                "function": {
                  "name": "get_weather",
                  "arguments": "{\"location\":\"Paris, France\"}"
                }
              }
            ],
            "refusal": null,
            "annotations": []
          },
          "logprobs": null,
          "finish_reason": "tool_calls"
        }
      ],
      "usage": {
        "prompt_tokens": 82,
        "completion_tokens": 17,
        "total_tokens": 99,
        "prompt_tokens_details": {
          "cached_tokens": 0,
          "audio_tokens": 0
        },
        "completion_tokens_details": {
          "reasoning_tokens": 0,
          "audio_tokens": 0,
          "accepted_prediction_tokens": 0,
          "rejected_prediction_tokens": 0
        }
      },
      "service_tier": "default",
      "system_fingerprint": "fp_fc9f1d7035"
    }
    """#

    /// A legacy `text_completion`.
    static let completion = #"""
    {
      "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
      "object": "text_completion",
      "created": 1589478378,
      "model": "gpt-3.5-turbo-instruct",
      "system_fingerprint": "fp_44709d6fcb",
      "choices": [
        {
          "text": "\n\nThis is indeed a test",
          "index": 0,
          "logprobs": null,
          "finish_reason": "length"
        }
      ],
      "usage": {
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "total_tokens": 12
      }
    }
    """#

    /// `POST /v1/embeddings` for two inputs, vectors shortened to four values.
    static let embeddings = #"""
    {
      "object": "list",
      "data": [
        {
          "object": "embedding",
          "index": 0,
          "embedding": [-0.006929283495992422, -0.005336422007530928, 0.00047350498218461871, -0.024047505110502243]
        },
        {
          "object": "embedding",
          "index": 1,
          "embedding": [0.018208865821361542, -0.0014536399394273758, 0.035243432223796844, -0.011049983836710453]
        }
      ],
      "model": "text-embedding-3-small",
      "usage": {
        "prompt_tokens": 8,
        "total_tokens": 8
      }
    }
    """#

    /// `GET /v1/models`, shortened.
    static let models = #"""
    {
      "object": "list",
      "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {"id": "text-embedding-3-small", "object": "model", "created": 1705948997, "owned_by": "system"}
      ]
    }
    """#

    /// Error bodies by status, as the API sends them.
    static let errors: [(status: Int, body: String, message: String)] = [
        (400, #"{"error":{"message":"Invalid value for 'temperature': must be between 0 and 2.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#,
         "Invalid value for 'temperature': must be between 0 and 2."),
        (401, #"{"error":{"message":"Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
         "Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys."),
        (404, #"{"error":{"message":"The model `gpt-5-turbo` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
         "The model `gpt-5-turbo` does not exist or you do not have access to it."),
        (429, #"{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-abc123 on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
         "Rate limit reached for gpt-4o-mini in organization org-abc123 on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s."),
        (500, #"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#,
         "The server had an error while processing your request. Sorry about that!"),
        (503, #"{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}"#,
         "The engine is currently overloaded, please try again later"),
    ]
}
