import Foundation
import LLMCache

/// The architecture numbers of a BERT encoder, read from the model folder's
/// `config.json` (Hugging Face names). The defaults are all-MiniLM-L6-v2's, used
/// for any field the file does not give.
struct BertConfiguration: Sendable, Equatable, Decodable {
    var hiddenSize = 384
    var layerCount = 6
    var headCount = 12
    var intermediateSize = 1536
    var vocabularySize = 30522
    var maximumPositions = 512
    var typeVocabularySize = 2
    var layerNormEpsilon: Float = 1e-12
    var hiddenActivation = "gelu"

    var headSize: Int { hiddenSize / headCount }

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case vocabularySize = "vocab_size"
        case maximumPositions = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps"
        case hiddenActivation = "hidden_act"
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = BertConfiguration()
        hiddenSize = try container.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? defaults.hiddenSize
        layerCount = try container.decodeIfPresent(Int.self, forKey: .layerCount) ?? defaults.layerCount
        headCount = try container.decodeIfPresent(Int.self, forKey: .headCount) ?? defaults.headCount
        intermediateSize = try container.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? defaults.intermediateSize
        vocabularySize = try container.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? defaults.vocabularySize
        maximumPositions = try container.decodeIfPresent(Int.self, forKey: .maximumPositions) ?? defaults.maximumPositions
        typeVocabularySize = try container.decodeIfPresent(Int.self, forKey: .typeVocabularySize) ?? defaults.typeVocabularySize
        layerNormEpsilon = try container.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? defaults.layerNormEpsilon
        hiddenActivation = try container.decodeIfPresent(String.self, forKey: .hiddenActivation) ?? defaults.hiddenActivation
    }

    /// Reads `config.json` in `directory`, or the defaults if there is none.
    static func load(directory: String) throws -> BertConfiguration {
        let path = directory + "/config.json"
        guard FileManager.default.fileExists(atPath: path) else { return BertConfiguration() }
        let configuration: BertConfiguration
        do {
            configuration = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw CacheError(.corruptData, "\(path) is not a readable BERT config.json (\(error)); reinstall the model with scripts/install-model.sh")
        }
        try configuration.validate(path: path)
        return configuration
    }

    func validate(path: String) throws {
        guard hiddenSize > 0, layerCount > 0, headCount > 0, intermediateSize > 0, vocabularySize > 0,
              maximumPositions > 0, typeVocabularySize > 0, hiddenSize % headCount == 0
        else {
            throw CacheError(.corruptData, "\(path) describes an impossible BERT (hidden \(hiddenSize), \(headCount) heads, \(layerCount) layers)")
        }
        guard hiddenActivation == "gelu" else {
            throw CacheError(.invalidConfiguration, "\(path) asks for the activation \(hiddenActivation); only exact \"gelu\" is implemented")
        }
    }
}
