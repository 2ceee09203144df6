/// Prices per million tokens, used to report what cache hits saved.
///
/// A model's price is the entry with the longest name that is a prefix of
/// the model's name (`gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`).
/// Models with no entry count tokens but no cost. A value type.
public struct PriceTable: Sendable {
    /// The price of one model.
    public struct Price: Hashable, Sendable {
        /// US dollars per million prompt (input) tokens.
        public var inputPerMillion: Double
        /// US dollars per million completion (output) tokens.
        public var outputPerMillion: Double
        /// US dollars per million input tokens the provider read from its
        /// prompt cache. `nil` (the default): ``inputPerMillion``.
        public var cachedInputPerMillion: Double?
        /// US dollars per million input tokens written to the provider's
        /// prompt cache (Anthropic's cache writes). `nil` (the default):
        /// ``inputPerMillion``.
        public var cacheWriteInputPerMillion: Double?

        public init(inputPerMillion: Double, outputPerMillion: Double, cachedInputPerMillion: Double? = nil, cacheWriteInputPerMillion: Double? = nil) {
            self.inputPerMillion = inputPerMillion
            self.outputPerMillion = outputPerMillion
            self.cachedInputPerMillion = cachedInputPerMillion
            self.cacheWriteInputPerMillion = cacheWriteInputPerMillion
        }
    }

    /// Prices by model name (or name prefix).
    public var prices: [String: Price]

    public init(prices: [String: Price]) {
        self.prices = prices
    }

    /// OpenAI's and Anthropic's list prices (USD, standard tier) for common
    /// models, as published in 2025, with their cached-input prices
    /// (Anthropic's cache writes at 1.25× input, the 5-minute cache).
    /// Override them with your own contract's prices.
    public static let standard = PriceTable(prices: [
        "gpt-5": Price(inputPerMillion: 1.25, outputPerMillion: 10.00, cachedInputPerMillion: 0.125),
        "gpt-5-mini": Price(inputPerMillion: 0.25, outputPerMillion: 2.00, cachedInputPerMillion: 0.025),
        "gpt-5-nano": Price(inputPerMillion: 0.05, outputPerMillion: 0.40, cachedInputPerMillion: 0.005),
        "gpt-4o": Price(inputPerMillion: 2.50, outputPerMillion: 10.00, cachedInputPerMillion: 1.25),
        "gpt-4o-mini": Price(inputPerMillion: 0.15, outputPerMillion: 0.60, cachedInputPerMillion: 0.075),
        "gpt-4.1": Price(inputPerMillion: 2.00, outputPerMillion: 8.00, cachedInputPerMillion: 0.50),
        "gpt-4.1-mini": Price(inputPerMillion: 0.40, outputPerMillion: 1.60, cachedInputPerMillion: 0.10),
        "gpt-4.1-nano": Price(inputPerMillion: 0.10, outputPerMillion: 0.40, cachedInputPerMillion: 0.025),
        "gpt-4-turbo": Price(inputPerMillion: 10.00, outputPerMillion: 30.00),
        "gpt-3.5-turbo": Price(inputPerMillion: 0.50, outputPerMillion: 1.50),
        "o3": Price(inputPerMillion: 2.00, outputPerMillion: 8.00, cachedInputPerMillion: 0.50),
        "o3-mini": Price(inputPerMillion: 1.10, outputPerMillion: 4.40, cachedInputPerMillion: 0.55),
        "o4-mini": Price(inputPerMillion: 1.10, outputPerMillion: 4.40, cachedInputPerMillion: 0.275),
        "claude-opus-4": Price(inputPerMillion: 15.00, outputPerMillion: 75.00, cachedInputPerMillion: 1.50, cacheWriteInputPerMillion: 18.75),
        "claude-opus-4-5": Price(inputPerMillion: 5.00, outputPerMillion: 25.00, cachedInputPerMillion: 0.50, cacheWriteInputPerMillion: 6.25),
        "claude-sonnet-4": Price(inputPerMillion: 3.00, outputPerMillion: 15.00, cachedInputPerMillion: 0.30, cacheWriteInputPerMillion: 3.75),
        "claude-3-7-sonnet": Price(inputPerMillion: 3.00, outputPerMillion: 15.00, cachedInputPerMillion: 0.30, cacheWriteInputPerMillion: 3.75),
        "claude-3-5-sonnet": Price(inputPerMillion: 3.00, outputPerMillion: 15.00, cachedInputPerMillion: 0.30, cacheWriteInputPerMillion: 3.75),
        "claude-haiku-4-5": Price(inputPerMillion: 1.00, outputPerMillion: 5.00, cachedInputPerMillion: 0.10, cacheWriteInputPerMillion: 1.25),
        "claude-3-5-haiku": Price(inputPerMillion: 0.80, outputPerMillion: 4.00, cachedInputPerMillion: 0.08, cacheWriteInputPerMillion: 1.00),
        "text-embedding-3-small": Price(inputPerMillion: 0.02, outputPerMillion: 0),
        "text-embedding-3-large": Price(inputPerMillion: 0.13, outputPerMillion: 0),
        "text-embedding-ada-002": Price(inputPerMillion: 0.10, outputPerMillion: 0),
    ])

    /// The price of `model`, or `nil` when no entry is a prefix of its name.
    public func price(of model: String) -> Price? {
        if let exact = prices[model] { return exact }
        var best: (length: Int, price: Price)?
        for (name, price) in prices where model.hasPrefix(name) && name.count > (best?.length ?? 0) {
            best = (name.count, price)
        }
        return best?.price
    }

    /// The cost in US dollars of `prompt` and `completion` tokens of `model`.
    public func cost(model: String, prompt: Int, completion: Int) -> Double {
        cost(model: model, prompt: prompt, cachedPrompt: 0, cacheWritePrompt: 0, completion: completion)
    }

    /// The cost in US dollars of a call of `model` whose `prompt` input
    /// tokens include `cachedPrompt` read from and `cacheWritePrompt`
    /// written to the provider's prompt cache, each at its own price.
    public func cost(model: String, prompt: Int, cachedPrompt: Int, cacheWritePrompt: Int, completion: Int) -> Double {
        guard let price = price(of: model) else { return 0 }
        let plain = max(0, prompt - cachedPrompt - cacheWritePrompt)
        let input = Double(plain) * price.inputPerMillion
            + Double(cachedPrompt) * (price.cachedInputPerMillion ?? price.inputPerMillion)
            + Double(cacheWritePrompt) * (price.cacheWriteInputPerMillion ?? price.inputPerMillion)
        return (input + Double(completion) * price.outputPerMillion) / 1_000_000
    }
}
