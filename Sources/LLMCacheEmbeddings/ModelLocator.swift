import Foundation
import LLMCache

/// Finds the folder holding the all-MiniLM-L6-v2 files (`model.safetensors`,
/// `vocab.txt`, optionally `config.json`).
///
/// The first of these that is given wins:
/// 1. an explicit folder (a `--model-dir` option, a configuration value);
/// 2. the environment variable `LLMCACHE_MODEL_DIR`;
/// 3. `${XDG_CACHE_HOME:-$HOME/.cache}/llm-cache/models/all-MiniLM-L6-v2`,
///    where `scripts/install-model.sh` puts the model.
///
/// A value type with no state; safe to use anywhere.
public struct ModelLocator: Sendable {
    /// The environment variable naming the model folder.
    public static let environmentVariable = "LLMCACHE_MODEL_DIR"
    /// The files a model folder must hold.
    public static let requiredFiles = ["model.safetensors", "vocab.txt"]

    /// The environment consulted; the process's by default.
    public var environment: [String: String]

    /// A locator reading `environment` (the process environment by default).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The folder the model would be loaded from, whether or not it exists.
    public func candidate(explicit: String? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let configured = environment[Self.environmentVariable], !configured.isEmpty { return configured }
        return defaultDirectory
    }

    /// `${XDG_CACHE_HOME:-$HOME/.cache}/llm-cache/models/all-MiniLM-L6-v2`.
    public var defaultDirectory: String {
        let cache: String
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            cache = xdg
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            cache = home + "/.cache"
        }
        return cache + "/llm-cache/models/all-MiniLM-L6-v2"
    }

    /// The model folder, checked to hold ``requiredFiles``.
    ///
    /// - Throws: ``CacheError/Code/invalidConfiguration`` naming the folder, the
    ///   missing file and the command that installs the model.
    public func locate(explicit: String? = nil) throws -> String {
        let directory = candidate(explicit: explicit)
        let source: String
        if let explicit, !explicit.isEmpty {
            source = "the folder given"
        } else if let configured = environment[Self.environmentVariable], !configured.isEmpty {
            source = "\(Self.environmentVariable)"
        } else {
            source = "the default location"
        }
        // The script installs into LLMCACHE_MODEL_DIR or the default folder, so
        // for any other folder the command must name it.
        let command = source == "the default location" ? "scripts/install-model.sh" : "\(Self.environmentVariable)=\(directory) scripts/install-model.sh"
        for file in Self.requiredFiles where !FileManager.default.fileExists(atPath: directory + "/" + file) {
            throw CacheError(
                .invalidConfiguration,
                "the all-MiniLM-L6-v2 model is not installed: \(directory) (\(source)) has no \(file). Install it with `\(command)` (make run and make test run scripts/install-model.sh), or point --model-dir or \(Self.environmentVariable) at a folder holding model.safetensors and vocab.txt"
            )
        }
        return directory
    }
}
