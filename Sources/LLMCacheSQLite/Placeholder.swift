enum LLMCacheSQLiteModule {}
