"""Drives `llm-cache serve` with the official OpenAI Python SDK.

Prints one line per check, "PASS name" or "FAIL name: why"; the caller counts.
Usage: python3 openai_sdk_check.py PROXY_BASE_URL [UPSTREAM_BASE_URL]
With the upstream (`llm-cache fake-upstream`), checks also count the calls
that reached it (GET /fake/stats).
"""
import json
import sys
import urllib.request
import uuid

import openai

base = sys.argv[1].rstrip("/") + "/v1"
upstream = sys.argv[2].rstrip("/") if len(sys.argv) > 2 else None
run = uuid.uuid4().hex[:8]
# Keys of this run's own: the key is the tenant, so no entry of an earlier run
# against the same store answers this one, not even by meaning.
client = openai.OpenAI(base_url=base, api_key=f"sk-sdk-one-{run}", max_retries=0, timeout=30)
other = openai.OpenAI(base_url=base, api_key=f"sk-sdk-two-{run}", max_retries=0, timeout=30)


def check(name, function):
    try:
        function()
        print(f"PASS {name}", flush=True)
    except Exception as error:  # report every failure and go on
        print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def upstream_chats():
    """The upstream's count of chat calls, or None without an upstream."""
    if upstream is None:
        return None
    with urllib.request.urlopen(upstream + "/fake/stats", timeout=10) as answer:
        return json.load(answer)["chat"]


def messages(text):
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"{text} ({run})"}]


def chat_hit():
    first = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages("plain"), temperature=0)
    second = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages("plain"), temperature=0)
    expect(first.headers.get("x-cache") == "MISS", f"first X-Cache {first.headers.get('x-cache')}")
    expect(second.headers.get("x-cache") == "HIT", f"second X-Cache {second.headers.get('x-cache')}")
    expect(first.parse().choices[0].message.content == second.parse().choices[0].message.content, "answers differ")
    expect(second.parse().usage.total_tokens > 0, "no usage on the hit")


def collect(stream):
    content, chunks, finish = "", 0, None
    for chunk in stream:
        chunks += 1
        if chunk.choices:
            content += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    return content, chunks, finish


def streaming():
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages("stream"), stream=True)
    expect(first.response.headers.get("x-cache") == "MISS", f"first X-Cache {first.response.headers.get('x-cache')}")
    live = collect(first)
    second = client.chat.completions.create(model="gpt-4o-mini", messages=messages("stream"), stream=True)
    expect(second.response.headers.get("x-cache") == "HIT", f"second X-Cache {second.response.headers.get('x-cache')}")
    replayed = collect(second)
    expect(replayed[0] == live[0] and live[0], f"replayed text {replayed[0]!r} != {live[0]!r}")
    expect(replayed[1] >= 4, f"only {replayed[1]} chunks replayed")
    expect(replayed[2] == "stop", f"finish_reason {replayed[2]}")
    plain = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages("stream"))
    expect(plain.headers.get("x-cache") == "HIT", "the non-streamed repeat missed")
    expect(plain.parse().choices[0].message.content == live[0], "assembled answer differs")


def stream_usage():
    options = {"include_usage": True}
    client.chat.completions.create(model="gpt-4o-mini", messages=messages("usage"), stream=True, stream_options=options).close()
    for _ in collect(client.chat.completions.create(model="gpt-4o-mini", messages=messages("usage2"), stream=True, stream_options=options)):
        pass
    usage = None
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=messages("usage2"), stream=True, stream_options=options):
        usage = chunk.usage or usage
    expect(usage is not None and usage.total_tokens > 0, "no usage chunk in the replay")


def tool_calls():
    tools = [{"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}]
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=messages("tools"), tools=tools)
    call = plain.choices[0].message.tool_calls[0]
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages("tools"), tools=tools, stream=True)
    expect(stream.response.headers.get("x-cache") == "HIT", "the streamed repeat missed")
    arguments, name, ident = "", None, None
    for chunk in stream:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments += delta.function.arguments or "" if delta.function else ""
            name = (delta.function.name if delta.function else None) or name
            ident = delta.id or ident
    expect((ident, name, arguments) == (call.id, call.function.name, call.function.arguments), f"replayed call {(ident, name, arguments)} != {(call.id, call.function.name, call.function.arguments)}")


def embeddings():
    first = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=[f"a {run}", "b"])
    second = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=[f"a {run}", "b"])
    expect((first.headers.get("x-cache"), second.headers.get("x-cache")) == ("MISS", "HIT"), "embeddings not cached")
    expect(len(second.parse().data) == 2, "wrong number of vectors")


def completions():
    first = client.completions.with_raw_response.create(model="gpt-3.5-turbo-instruct", prompt=f"Say hi {run}", max_tokens=5)
    second = client.completions.with_raw_response.create(model="gpt-3.5-turbo-instruct", prompt=f"Say hi {run}", max_tokens=5)
    expect((first.headers.get("x-cache"), second.headers.get("x-cache")) == ("MISS", "HIT"), "completions not cached")
    expect(second.parse().choices[0].text == first.parse().choices[0].text, "answers differ")


def upstream_error():
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages("limited"), extra_headers={"X-Fake-Status": "429"})
    except openai.RateLimitError as error:
        expect(error.status_code == 429, f"status {error.status_code}")
        expect("forced failure 429" in str(error), f"message {error}")
        before = upstream_chats()
        again = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages("limited"))
        expect(again.headers.get("x-cache") == "MISS", "the error was cached")
        expect(before is None or upstream_chats() == before + 1, "the retry did not reach the upstream")
        return
    raise AssertionError("no RateLimitError")


def bad_request():
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages("bad"), temperature="hot")
    except openai.BadRequestError as error:
        expect(error.status_code == 400, f"status {error.status_code}")
        expect(error.body.get("param") == "temperature", f"param {error.body}")
        return
    raise AssertionError("no BadRequestError")


def tenants():
    client.chat.completions.create(model="gpt-4o-mini", messages=messages("tenant"))
    theirs = other.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages("tenant"))
    expect(theirs.headers.get("x-cache") == "MISS", "another API key saw the entry")


def models():
    expect([m.id for m in client.models.list().data] == ["fake-model"], "model list not passed through")
    expect(client.models.retrieve("fake-model").id == "fake-model", "GET /v1/models/{id} not passed through")
    try:
        client.models.retrieve("no-such-model")
    except openai.NotFoundError as error:
        expect(error.body.get("code") == "model_not_found", f"the upstream's 404 was not relayed: {error.body}")
        return
    raise AssertionError("no NotFoundError for an unknown model")


def usage_from_stream():
    # The SDK's default: no stream_options. The stored answer still has usage.
    # A model of its own, so no earlier entry can answer it by meaning.
    collect(client.chat.completions.create(model="gpt-4o-usage", messages=messages("usage from a stream"), stream=True))
    plain = client.chat.completions.with_raw_response.create(model="gpt-4o-usage", messages=messages("usage from a stream"))
    expect(plain.headers.get("x-cache") == "HIT", f"X-Cache {plain.headers.get('x-cache')}")
    usage = plain.parse().usage
    expect(usage is not None and usage.completion_tokens > 0, f"usage {usage}")


def logprobs_through_streams():
    asked = dict(model="gpt-4o-mini", messages=messages("logprobs"), logprobs=True, top_logprobs=2)
    live = [c for chunk in client.chat.completions.create(stream=True, **asked) if chunk.choices and chunk.choices[0].logprobs for c in chunk.choices[0].logprobs.content]
    plain = client.chat.completions.with_raw_response.create(**asked)
    expect(plain.headers.get("x-cache") == "HIT", f"X-Cache {plain.headers.get('x-cache')}")
    stored = plain.parse().choices[0].logprobs.content
    expect([t.token for t in stored] == [t.token for t in live] and live, "logprobs lost through the stream")
    expect(len(stored[0].top_logprobs) == 2, "top_logprobs lost")
    replayed = [c for chunk in client.chat.completions.create(stream=True, **asked) if chunk.choices and chunk.choices[0].logprobs for c in chunk.choices[0].logprobs.content]
    expect([t.logprob for t in replayed] == [t.logprob for t in live], "logprobs not replayed on a streamed hit")


def retry_after():
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages("slow down"), extra_headers={"X-Fake-Status": "429", "X-Fake-Retry-After": "7"})
    except openai.RateLimitError as error:
        expect(error.response.headers.get("retry-after") == "7", f"Retry-After {error.response.headers.get('retry-after')}")
        expect(error.response.headers.get("x-request-id", "").startswith("req_fake_"), "no x-request-id")
        return
    raise AssertionError("no RateLimitError")


def request_id_on_miss():
    miss = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages("request id"))
    expect(miss.headers.get("x-cache") == "MISS", "not a miss")
    expect(miss.headers.get("x-request-id", "").startswith("req_fake_"), f"x-request-id {miss.headers.get('x-request-id')}")


def body_cache_controls():
    client.chat.completions.create(model="gpt-4o-mini", messages=messages("litellm controls"))
    fresh = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages("litellm controls"), extra_body={"cache": {"no-cache": True}})
    expect(fresh.headers.get("x-cache") == "MISS", f"no-cache in the body was not honoured: {fresh.headers.get('x-cache')}")
    again = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages("litellm controls"))
    expect(again.headers.get("x-cache") == "HIT", "the cache object became part of the key")


def unknown_route():
    # A base URL without /v1, the commonest mistake.
    wrong = openai.OpenAI(base_url=sys.argv[1].rstrip("/") + "/api", api_key="sk-sdk-one", max_retries=0, timeout=30)
    try:
        wrong.chat.completions.create(model="gpt-4o-mini", messages=messages("wrong base"))
    except openai.NotFoundError as error:
        expect("/v1/chat/completions" in str(error), f"the 404 does not name the routes: {error}")
        return
    raise AssertionError("no NotFoundError")


for name, function in [
    ("sdk chat miss then hit", chat_hit),
    ("sdk streamed miss then streamed hit", streaming),
    ("sdk streamed hit with include_usage", stream_usage),
    ("sdk tool calls replayed as deltas", tool_calls),
    ("sdk embeddings", embeddings),
    ("sdk legacy completions", completions),
    ("sdk upstream 429 passed through, not cached", upstream_error),
    ("sdk bad request is a 400 naming the field", bad_request),
    ("sdk tenants isolated by API key", tenants),
    ("sdk models passed through", models),
    ("sdk plain hit of an entry stored from a stream has usage", usage_from_stream),
    ("sdk logprobs survive a streamed miss into plain and streamed hits", logprobs_through_streams),
    ("sdk 429 Retry-After reaches the client", retry_after),
    ("sdk a miss relays the upstream's x-request-id", request_id_on_miss),
    ("sdk body-level cache controls honoured and kept out of the key", body_cache_controls),
    ("sdk unknown route is a JSON 404 naming the routes", unknown_route),
]:
    check(name, function)
