import Foundation
import LLMCache

/// Finds the model folder: an explicit path, else `LLMCACHE_MODEL_DIR`, else
/// `${XDG_CACHE_HOME:-~/.cache}/llm-cache/models/all-MiniLM-L6-v2`, where
/// `scripts/install-model.sh` installs it.
public enum ModelLocator {
    /// The environment variable naming the model folder.
    public static let environmentVariable = "LLMCACHE_MODEL_DIR"

    /// The folder used when neither a path nor the environment names one.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
        return (cache as NSString).appendingPathComponent("llm-cache/models/all-MiniLM-L6-v2")
    }

    /// The model folder to use, checked to hold the files an encoder needs.
    ///
    /// - Throws: ``CacheError/Code/invalidConfiguration`` naming the folder and the
    ///   command that installs the model.
    public static func resolve(_ explicit: String? = nil) throws -> String {
        let directory = explicit ?? ProcessInfo.processInfo.environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDirectory
        let required = ["model.safetensors", "vocab.txt", "config.json"]
        let missing = required.filter { !FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0)) }
        guard missing.isEmpty else {
            let how = explicit == nil
                ? "run scripts/install-model.sh (or make run / make test), or set \(environmentVariable) to a sentence-transformers model folder"
                : "point it at a sentence-transformers model folder, or run scripts/install-model.sh and omit the path"
            throw CacheError(.invalidConfiguration, "no embedding model in \(directory) (missing \(missing.joined(separator: ", "))); \(how)")
        }
        return directory
    }
}
