"""Drives `llm-cache serve` with LangChain's chat models: ChatOpenAI (on the
Responses API and on chat completions) and ChatAnthropic.

Prints one line per check, "PASS name" or "FAIL name: why"; the caller counts.
Usage: python3 langchain_check.py PROXY_BASE_URL UPSTREAM_BASE_URL
(the upstream is `llm-cache fake-upstream`, whose GET /fake/stats counts the
calls that reached it: LangChain shows no response headers, so the counts
tell a hit from a miss).
"""
import json
import sys
import urllib.request
import uuid

from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

proxy = sys.argv[1].rstrip("/")
upstream = sys.argv[2].rstrip("/")
run = uuid.uuid4().hex[:8]
# Every model of this run, under one key of the run's own, so that no entry of
# an earlier run against the same store answers this one.
key = f"sk-lc-{run}"


def check(name, function):
    try:
        function()
        print(f"PASS {name}", flush=True)
    except Exception as error:  # report every failure and go on
        print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def stats():
    with urllib.request.urlopen(upstream + "/fake/stats", timeout=10) as answer:
        return json.load(answer)


def calls(field):
    """A function giving how far the upstream's counter `field` rose since this call."""
    before = stats()[field]
    return lambda: stats()[field] - before


def invoke_twice_then_stream(model, question, field):
    """Two invokes and a stream of `question`: one upstream call in all, one text."""
    upstream_calls = calls(field)
    first = model.invoke(question)
    second = model.invoke(question)
    expect(upstream_calls() == 1, f"{upstream_calls()} upstream calls ({field}) for two invokes")
    expect(question in first.text, f"the answer does not echo the question: {first.text!r}")
    expect(second.text == first.text, f"second answer {second.text!r} != {first.text!r}")
    chunks = list(model.stream(question))
    streamed = "".join(chunk.text for chunk in chunks)
    expect(len(chunks) >= 2, f"only {len(chunks)} chunks")
    expect(streamed == first.text, f"streamed {streamed!r} != invoked {first.text!r}")
    expect(upstream_calls() == 1, f"{upstream_calls()} upstream calls ({field}) after the stream: it was not served from the cache")


def openai_responses():
    model = ChatOpenAI(base_url=proxy + "/v1", api_key=key, model="gpt-4o-mini", use_responses_api=True, max_retries=0, timeout=30)
    invoke_twice_then_stream(model, f"What colour is the sky on a clear day? ({run})", "responses")


def anthropic_messages():
    model = ChatAnthropic(base_url=proxy, api_key=key, model="claude-sonnet-4-5", max_retries=0, timeout=30)
    invoke_twice_then_stream(model, f"Name the largest ocean on Earth. ({run})", "messages")


def openai_chat():
    model = ChatOpenAI(base_url=proxy + "/v1", api_key=key, model="gpt-4o-mini", max_retries=0, timeout=30)
    invoke_twice_then_stream(model, f"Which planet of the solar system is the largest? ({run})", "chat")


for name, function in [
    ("langchain ChatOpenAI on the Responses API: second invoke and stream from the cache", openai_responses),
    ("langchain ChatAnthropic: second invoke and stream from the cache", anthropic_messages),
    ("langchain ChatOpenAI on chat completions: second invoke and stream from the cache", openai_chat),
]:
    check(name, function)
