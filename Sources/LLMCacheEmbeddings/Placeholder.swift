enum LLMCacheEmbeddingsModule {}
