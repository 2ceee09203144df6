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

        public init(inputPerMillion: Double, outputPerMillion: Double) {
            self.inputPerMillion = inputPerMillion
            self.outputPerMillion = outputPerMillion
        }
    }

    /// Prices by model name (or name prefix).
    public var prices: [String: Price]

    public init(prices: [String: Price]) {
        self.prices = prices
    }

    /// OpenAI's list prices (USD, standard tier) for common models, as
    /// published in 2025. Override them with your own contract's prices.
    public static let standard = PriceTable(prices: [
        "gpt-4o": Price(inputPerMillion: 2.50, outputPerMillion: 10.00),
        "gpt-4o-mini": Price(inputPerMillion: 0.15, outputPerMillion: 0.60),
        "gpt-4.1": Price(inputPerMillion: 2.00, outputPerMillion: 8.00),
        "gpt-4.1-mini": Price(inputPerMillion: 0.40, outputPerMillion: 1.60),
        "gpt-4.1-nano": Price(inputPerMillion: 0.10, outputPerMillion: 0.40),
        "gpt-4-turbo": Price(inputPerMillion: 10.00, outputPerMillion: 30.00),
        "gpt-3.5-turbo": Price(inputPerMillion: 0.50, outputPerMillion: 1.50),
        "o3-mini": Price(inputPerMillion: 1.10, outputPerMillion: 4.40),
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
        guard let price = price(of: model) else { return 0 }
        return (Double(prompt) * price.inputPerMillion + Double(completion) * price.outputPerMillion) / 1_000_000
    }
}
