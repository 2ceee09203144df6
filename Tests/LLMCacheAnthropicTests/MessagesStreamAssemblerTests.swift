import LLMCache
import LLMCacheAnthropic
import Testing
