"""Drives `llm-cache serve`'s /v1/messages with the official Anthropic Python SDK.

Prints one line per check, "PASS name" or "FAIL name: why"; the caller counts.
Usage: python3 anthropic_sdk_check.py PROXY_BASE_URL UPSTREAM_BASE_URL
(the proxy runs with --anthropic-upstream UPSTREAM_BASE_URL, which is
`llm-cache fake-upstream`, whose GET /fake/stats counts the calls that reached it).
"""
import json
import sys
import urllib.request
import uuid

import anthropic

proxy = sys.argv[1].rstrip("/")
upstream = sys.argv[2].rstrip("/")
run = uuid.uuid4().hex[:8]
MODEL = "claude-sonnet-4-5"
# Keys of this run's own: the key is the tenant, so no entry of an earlier run
# against the same store answers this one, not even by meaning.
client = anthropic.Anthropic(base_url=proxy, api_key=f"sk-ant-one-{run}", max_retries=0, timeout=30)
other = anthropic.Anthropic(base_url=proxy, api_key=f"sk-ant-two-{run}", max_retries=0, timeout=30)


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


def calls(field="messages"):
    """A function giving how far the upstream's counter `field` rose since this call."""
    before = stats()[field]
    return lambda: stats()[field] - before


def said(text):
    # Each check has words of its own (unrelated to the others', so that no
    # other check's entry answers it by meaning) and this run's id.
    return f"{text} (run {run})"


def asking(text, **more):
    return dict(model=MODEL, max_tokens=256, messages=[{"role": "user", "content": said(text)}], **more)


def x_cache(raw):
    return raw.headers.get("x-cache")


def text_of(message):
    return "".join(block.text for block in message.content if block.type == "text")


def plain_hit():
    asked = asking("Describe the plain messages check in a sentence.")
    first = client.messages.with_raw_response.create(**asked)
    second = client.messages.with_raw_response.create(**asked)
    expect((x_cache(first), x_cache(second)) == ("MISS", "HIT"), f"X-Cache {x_cache(first)}/{x_cache(second)}")
    one, two = first.parse(), second.parse()
    expect(text_of(one) and text_of(one) == text_of(two), f"text {text_of(two)!r} != {text_of(one)!r}")
    expect("Describe the plain messages check" in text_of(one), f"the answer does not echo the question: {text_of(one)!r}")
    expect(one.id == two.id, f"id {two.id} != {one.id}")
    expect(two.stop_reason == "end_turn" and two.usage.output_tokens > 0, f"stop_reason {two.stop_reason}, usage {two.usage}")


def collect(stream):
    """The raw events of a stream: (types, message id, joined text deltas, stop_reason)."""
    types, ident, text, stop = [], None, "", None
    for event in stream:
        types.append(event.type)
        if event.type == "message_start":
            ident = event.message.id
        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
            text += event.delta.text
        elif event.type == "message_delta":
            stop = event.delta.stop_reason
    return types, ident, text, stop


def streaming():
    asked = asking("Walk me through how the streamed messages check works.")
    upstream_calls = calls()
    live_stream = client.messages.create(stream=True, **asked)
    expect(x_cache(live_stream.response) == "MISS", f"first X-Cache {x_cache(live_stream.response)}")
    live = collect(live_stream)
    expect(live[0][0] == "message_start" and live[0][-1] == "message_stop", f"miss events {live[0]}")
    expect(live[2] and live[3] == "end_turn", f"miss text {live[2]!r}, stop_reason {live[3]}")

    replay_stream = client.messages.create(stream=True, **asked)
    expect(x_cache(replay_stream.response) == "HIT", f"second X-Cache {x_cache(replay_stream.response)}")
    replayed = collect(replay_stream)
    expect(replayed[0][0] == "message_start" and replayed[0][-1] == "message_stop", f"hit events {replayed[0]}")
    expect(replayed[0].count("content_block_delta") >= 2, f"hit events {replayed[0]}")
    expect(replayed[1:] == live[1:], f"hit (id, text, stop_reason) {replayed[1:]} != miss {live[1:]}")

    with client.messages.stream(**asked) as stream:
        expect(x_cache(stream.response) == "HIT", f"messages.stream() X-Cache {x_cache(stream.response)}")
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    expect(len(pieces) >= 2 and "".join(pieces) == live[2], f"text_stream {pieces}")

    plain = client.messages.with_raw_response.create(**asked)
    expect(x_cache(plain) == "HIT", f"the non-streamed repeat: X-Cache {x_cache(plain)}")
    stored = plain.parse()
    expect(final.id == stored.id == live[1], f"ids: final {final.id}, plain {stored.id}, streamed {live[1]}")
    expect(text_of(final) == text_of(stored) == live[2], f"final {text_of(final)!r}, plain {text_of(stored)!r}")
    expect(final.stop_reason == stored.stop_reason == "end_turn", f"stop_reason final {final.stop_reason}, plain {stored.stop_reason}")
    expect(final.usage.output_tokens == stored.usage.output_tokens > 0, f"usage final {final.usage}, plain {stored.usage}")
    expect(upstream_calls() == 1, f"{upstream_calls()} upstream calls for one streamed miss and three hits")


def tool_use_and_thinking():
    tools = [{"name": "lookup", "description": "Look up", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}}]
    for label, asked in [
        ("tool_use", asking("Find the opening hours of the museum.", tools=tools)),
        ("thinking", dict(asking("Think about the migration of swallows."), max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024})),
    ]:
        with client.messages.stream(**asked) as stream:
            expect(x_cache(stream.response) == "MISS", f"{label}: first X-Cache {x_cache(stream.response)}")
            live = stream.get_final_message()
        expect(label in [block.type for block in live.content], f"{label}: live content {live.content}")
        with client.messages.stream(**asked) as stream:
            expect(x_cache(stream.response) == "HIT", f"{label}: second X-Cache {x_cache(stream.response)}")
            replayed = stream.get_final_message()
        expect(replayed.content == live.content, f"{label}: replayed {replayed.content} != {live.content}")
        expect(replayed.stop_reason == live.stop_reason, f"{label}: stop_reason {replayed.stop_reason} != {live.stop_reason}")


def system_prompt():
    question = said("Greet me in a single word.")
    answers = []
    for system in ("Answer in French.", "Answer like a pirate."):
        raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=256, system=system, messages=[{"role": "user", "content": question}])
        expect(x_cache(raw) == "MISS", f"system {system!r}: X-Cache {x_cache(raw)}")
        answers.append(text_of(raw.parse()))
    expect(answers[0].startswith("[system: Answer in French.]") and answers[1].startswith("[system: Answer like a pirate.]"), f"answers {answers}")
    again = client.messages.with_raw_response.create(model=MODEL, max_tokens=256, system="Answer in French.", messages=[{"role": "user", "content": question}])
    expect(x_cache(again) == "HIT" and text_of(again.parse()) == answers[0], f"the first system prompt again: X-Cache {x_cache(again)}")


def cache_control():
    system = [{"type": "text", "text": "You are a terse assistant for cache control tests."}]
    content = [{"type": "text", "text": said("List three primary colours.")}]
    marked_system = [dict(system[0], cache_control={"type": "ephemeral"})]
    marked_content = [dict(content[0], cache_control={"type": "ephemeral", "ttl": "1h"})]
    first = client.messages.with_raw_response.create(model=MODEL, max_tokens=256, system=system, messages=[{"role": "user", "content": content}])
    expect(x_cache(first) == "MISS", f"unmarked: X-Cache {x_cache(first)}")
    upstream_calls = calls()
    for label, extra in [
        ("a marked system block", dict(system=marked_system, messages=[{"role": "user", "content": content}])),
        ("a marked message block", dict(system=system, messages=[{"role": "user", "content": marked_content}])),
        ("a top-level cache_control", dict(system=system, messages=[{"role": "user", "content": content}], cache_control={"type": "ephemeral"})),
    ]:
        raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=256, **extra)
        expect(x_cache(raw) == "HIT", f"{label}: X-Cache {x_cache(raw)}")
        expect(text_of(raw.parse()) == text_of(first.parse()), f"{label}: another answer")
    expect(upstream_calls() == 0, f"{upstream_calls()} upstream calls")


def beta_header():
    asked = asking("Which beta features are on?")
    client.messages.create(**asked)
    beta = client.messages.with_raw_response.create(**asked, extra_headers={"anthropic-beta": "fake-feature-2025-01-01"})
    expect(x_cache(beta) == "MISS", f"with anthropic-beta: X-Cache {x_cache(beta)}")
    again = client.messages.with_raw_response.create(**asked, extra_headers={"anthropic-beta": "fake-feature-2025-01-01"})
    expect(x_cache(again) == "HIT", f"the same anthropic-beta again: X-Cache {x_cache(again)}")


def tenants():
    asked = asking("Whose cached message is this?")
    client.messages.create(**asked)
    theirs = other.messages.with_raw_response.create(**asked)
    expect(x_cache(theirs) == "MISS", f"another api_key: X-Cache {x_cache(theirs)}")
    again = other.messages.with_raw_response.create(**asked)
    expect(x_cache(again) == "HIT", f"the other key's own repeat: X-Cache {x_cache(again)}")


def overloaded():
    asked = asking("This one meets an overloaded upstream first.")
    try:
        client.messages.create(**asked, extra_headers={"X-Fake-Status": "529"})
    except anthropic.APIStatusError as error:
        expect(error.status_code == 529, f"status {error.status_code}")
        overloaded_class = getattr(anthropic, "OverloadedError", None)
        expect(overloaded_class is None or isinstance(error, overloaded_class), f"{type(error).__name__}, not OverloadedError")
        expect(isinstance(error.body, dict) and error.body.get("error", {}).get("type") == "overloaded_error", f"body {error.body}")
    else:
        raise AssertionError("no APIStatusError")
    upstream_calls = calls()
    again = client.messages.with_raw_response.create(**asked)
    expect(x_cache(again) == "MISS", f"after the 529: X-Cache {x_cache(again)}")
    expect(upstream_calls() == 1, "the retry did not reach the upstream")


def failed_stream():
    asked = asking("This stream breaks off with an error event.")
    try:
        for _ in client.messages.create(stream=True, **asked, extra_headers={"X-Fake-Stream-Error": "1"}):
            pass
    except anthropic.APIStatusError as error:
        expect("overloaded_error" in str(error), f"error {error}")
    else:
        raise AssertionError("the error event raised nothing")
    again = client.messages.with_raw_response.create(**asked)
    expect(x_cache(again) == "MISS", f"after a stream that ended in an error: X-Cache {x_cache(again)}")


def bad_request():
    upstream_calls = calls()
    try:
        client.messages.create(**asking("How hot is it today?"), extra_body={"temperature": "hot"})
    except anthropic.BadRequestError as error:
        expect(error.status_code == 400, f"status {error.status_code}")
        expect(error.body.get("type") == "error" and error.body.get("error", {}).get("type") == "invalid_request_error", f"not Anthropic's error shape: {error.body}")
        expect("temperature" in error.body["error"].get("message", ""), f"the message does not name the field: {error.body}")
    else:
        raise AssertionError("no BadRequestError")
    try:
        client.post("/v1/messages", cast_to=object, body={"model": MODEL, "max_tokens": 16, "messages": "not a list"})
    except anthropic.BadRequestError as error:
        expect("messages" in error.body.get("error", {}).get("message", ""), f"the message does not name the field: {error.body}")
    else:
        raise AssertionError("no BadRequestError for messages given as a string")
    expect(upstream_calls() == 0, "a request the proxy rejected reached the upstream")


def count_tokens():
    upstream_calls = calls("countTokens")
    counted = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": said("How many tokens is this?")}])
    expect(counted.input_tokens > 0, f"input_tokens {counted.input_tokens}")
    expect(upstream_calls() == 1, f"{upstream_calls()} count_tokens calls reached the upstream")


def semantic():
    client.messages.create(model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "What is the boiling point of water at sea level?"}])
    upstream_calls = calls()
    paraphrase = client.messages.with_raw_response.create(model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "whats the boiling point of water at sea level?"}])
    expect(x_cache(paraphrase) == "SEMANTIC-HIT", f"X-Cache {x_cache(paraphrase)}")
    similarity = float(paraphrase.headers.get("x-cache-similarity", "0"))
    expect(0 < similarity <= 1, f"X-Cache-Similarity {paraphrase.headers.get('x-cache-similarity')}")
    expect("boiling point" in text_of(paraphrase.parse()), f"answer {text_of(paraphrase.parse())!r}")
    expect(upstream_calls() == 0, "the paraphrase reached the upstream")


for name, function in [
    ("anthropic miss then hit, same text and id", plain_hit),
    ("anthropic streamed miss then streamed hits (raw events, messages.stream)", streaming),
    ("anthropic tool_use and thinking blocks replayed through messages.stream", tool_use_and_thinking),
    ("anthropic system prompt is part of the key", system_prompt),
    ("anthropic cache_control markers stay out of the key", cache_control),
    ("anthropic anthropic-beta is part of the key", beta_header),
    ("anthropic tenants isolated by api_key", tenants),
    ("anthropic upstream 529 is OverloadedError, not cached", overloaded),
    ("anthropic a stream ending in an error event is not cached", failed_stream),
    ("anthropic proxy-side 400 is a BadRequestError in Anthropic's shape", bad_request),
    ("anthropic count_tokens passes through", count_tokens),
    ("anthropic paraphrase is a SEMANTIC-HIT", semantic),
]:
    check(name, function)
