import LLMCache
