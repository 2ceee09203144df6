"""Drives `llm-cache serve`'s /v1/responses with the official OpenAI Python SDK.

Prints one line per check, "PASS name" or "FAIL name: why"; the caller counts.
Usage: python3 responses_check.py PROXY_BASE_URL UPSTREAM_BASE_URL
(the upstream is `llm-cache fake-upstream`, whose GET /fake/stats counts the
calls that reached it).
"""
import json
import sys
import urllib.request
import uuid

import openai

proxy = sys.argv[1].rstrip("/")
upstream = sys.argv[2].rstrip("/")
run = uuid.uuid4().hex[:8]
MODEL = "gpt-4o-mini"
# Keys of this run's own: the key is the tenant, so no entry of an earlier run
# against the same store answers this one, not even by meaning.
client = openai.OpenAI(base_url=proxy + "/v1", api_key=f"sk-responses-one-{run}", max_retries=0, timeout=30)
other = openai.OpenAI(base_url=proxy + "/v1", api_key=f"sk-responses-two-{run}", max_retries=0, timeout=30)


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


def calls(field="responses"):
    """The upstream's counter `field` now, and a function giving how far it rose since."""
    before = stats()[field]
    return lambda: stats()[field] - before


def said(text):
    # Each check has words of its own (unrelated to the others', so that no
    # other check's entry answers it by meaning) and this run's id.
    return f"{text} (run {run})"


def x_cache(raw):
    return raw.headers.get("x-cache")


def plain_hit():
    asked = dict(model=MODEL, input=said("Describe the plain responses check in one line."))
    first = client.responses.with_raw_response.create(**asked)
    second = client.responses.with_raw_response.create(**asked)
    expect((x_cache(first), x_cache(second)) == ("MISS", "HIT"), f"X-Cache {x_cache(first)}/{x_cache(second)}")
    one, two = first.parse(), second.parse()
    expect(one.output_text and one.output_text == two.output_text, f"output_text {two.output_text!r} != {one.output_text!r}")
    expect("Describe the plain responses check" in one.output_text, f"the answer does not echo the input: {one.output_text!r}")
    expect(one.id == two.id, f"id {two.id} != {one.id}")
    expect(two.status == "completed" and two.usage is not None and two.usage.total_tokens > 0, f"status {two.status}, usage {two.usage}")


def collect(stream):
    """The events of a stream: (types, sequence numbers, joined text deltas, the completed response)."""
    types, numbers, text, completed = [], [], "", None
    for event in stream:
        types.append(event.type)
        numbers.append(event.sequence_number)
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type == "response.completed":
            completed = event.response
    return types, numbers, text, completed


def streaming():
    asked = dict(model=MODEL, input=said("Walk me through the streaming responses check."))
    upstream_calls = calls()
    live_stream = client.responses.create(stream=True, **asked)
    expect(x_cache(live_stream.response) == "MISS", f"first X-Cache {x_cache(live_stream.response)}")
    types, numbers, live_text, live = collect(live_stream)
    expect(types[0] == "response.created" and types[-1] == "response.completed", f"miss events {types}")
    expect(numbers == list(range(len(numbers))), f"miss sequence numbers {numbers}")
    expect(live is not None and live_text == live.output_text and live_text, f"miss deltas {live_text!r} != {live and live.output_text!r}")

    replay_stream = client.responses.create(stream=True, **asked)
    expect(x_cache(replay_stream.response) == "HIT", f"second X-Cache {x_cache(replay_stream.response)}")
    types, numbers, text, completed = collect(replay_stream)
    expect(types[0] == "response.created" and types[-1] == "response.completed", f"hit events {types}")
    expect("response.output_text.delta" in types and types.count("response.output_text.delta") >= 2, f"hit events {types}")
    expect(numbers == list(range(len(numbers))), f"hit sequence numbers {numbers}")

    plain = client.responses.with_raw_response.create(**asked)
    expect(x_cache(plain) == "HIT", f"the non-streamed repeat: X-Cache {x_cache(plain)}")
    stored = plain.parse()
    expect(text == stored.output_text, f"hit deltas {text!r} != plain output_text {stored.output_text!r}")
    expect(stored.output_text == live.output_text, f"stored {stored.output_text!r} != streamed {live.output_text!r}")
    expect(completed.id == stored.id == live.id, f"ids: completed {completed.id}, stored {stored.id}, live {live.id}")
    expect(completed.output_text == stored.output_text, "response.completed carries another text")
    expect(upstream_calls() == 1, f"{upstream_calls()} upstream calls for one streamed miss and two hits")


def stream_helper():
    asked = dict(model=MODEL, input=said("Explain what the stream helper returns at the end."))
    stored = client.responses.create(**asked)
    upstream_calls = calls()
    texts = []
    with client.responses.stream(**asked) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                texts.append(event.delta)
        final = stream.get_final_response()
    expect(upstream_calls() == 0, "the streamed repeat reached the upstream")
    expect(final.id == stored.id, f"final id {final.id} != {stored.id}")
    expect(final.output_text == stored.output_text == "".join(texts), f"final {final.output_text!r}, deltas {''.join(texts)!r}, stored {stored.output_text!r}")
    expect(final.status == "completed", f"status {final.status}")


def previous_response_id():
    # Two unrelated openings, so that neither is served for the other by meaning.
    one = client.responses.create(model=MODEL, input=said("Tell me about the penguins of Antarctica."))
    two = client.responses.create(model=MODEL, input=said("Explain how a volcano erupts."))
    expect(one.id != two.id, "the two openings got one response")
    follow = said("And what comes next?")
    upstream_calls = calls()
    after_one = client.responses.with_raw_response.create(model=MODEL, input=follow, previous_response_id=one.id)
    after_two = client.responses.with_raw_response.create(model=MODEL, input=follow, previous_response_id=two.id)
    expect(upstream_calls() == 2, f"{upstream_calls()} upstream calls for two different previous_response_id")
    expect((x_cache(after_one), x_cache(after_two)) == ("MISS", "MISS"), f"X-Cache {x_cache(after_one)}/{x_cache(after_two)}")
    expect(one.id in after_one.parse().output_text and two.id in after_two.parse().output_text, "an answer does not follow its own previous response")
    again = client.responses.with_raw_response.create(model=MODEL, input=follow, previous_response_id=one.id)
    expect(x_cache(again) == "HIT", f"the same previous_response_id again: X-Cache {x_cache(again)}")
    expect(again.parse().output_text == after_one.parse().output_text, "the hit answers another turn")
    expect(upstream_calls() == 2, "the repeat reached the upstream")


def tenants():
    asked = dict(model=MODEL, input=said("Whose entry is this one?"))
    client.responses.create(**asked)
    theirs = other.responses.with_raw_response.create(**asked)
    expect(x_cache(theirs) == "MISS", f"another API key: X-Cache {x_cache(theirs)}")
    again = other.responses.with_raw_response.create(**asked)
    expect(x_cache(again) == "HIT", f"the other key's own repeat: X-Cache {x_cache(again)}")


def upstream_error():
    asked = dict(model=MODEL, input=said("This one fails at the upstream first."))
    try:
        client.responses.create(**asked, extra_headers={"X-Fake-Status": "500"})
    except openai.InternalServerError as error:
        expect(error.status_code == 500, f"status {error.status_code}")
        expect("forced failure 500" in str(error), f"message {error}")
    else:
        raise AssertionError("no InternalServerError")
    upstream_calls = calls()
    again = client.responses.with_raw_response.create(**asked)
    expect(x_cache(again) == "MISS", f"after the 500: X-Cache {x_cache(again)}")
    expect(upstream_calls() == 1, "the retry did not reach the upstream")


def failed_stream():
    asked = dict(model=MODEL, input=said("This stream fails half way through."))
    events = [event.type for event in client.responses.create(stream=True, **asked, extra_headers={"X-Fake-Stream-Error": "1"})]
    expect(events[-1] == "response.failed", f"events {events}")
    again = client.responses.with_raw_response.create(**asked)
    expect(x_cache(again) == "MISS", f"after a response.failed stream: X-Cache {x_cache(again)}")


def semantic():
    client.responses.create(model=MODEL, input="What is the tallest mountain on Earth?")
    upstream_calls = calls()
    paraphrase = client.responses.with_raw_response.create(model=MODEL, input="whats the tallest mountain on earth?")
    expect(x_cache(paraphrase) == "SEMANTIC-HIT", f"X-Cache {x_cache(paraphrase)}")
    similarity = float(paraphrase.headers.get("x-cache-similarity", "0"))
    expect(0 < similarity <= 1, f"X-Cache-Similarity {paraphrase.headers.get('x-cache-similarity')}")
    expect("tallest mountain" in paraphrase.parse().output_text, f"answer {paraphrase.parse().output_text!r}")
    expect(upstream_calls() == 0, "the paraphrase reached the upstream")


def retrieve():
    asked = dict(model=MODEL, input=said("Keep this response for a later lookup."))
    client.responses.create(**asked)
    hit = client.responses.with_raw_response.create(**asked)
    expect(x_cache(hit) == "HIT", f"X-Cache {x_cache(hit)}")
    cached = hit.parse()
    found = client.responses.retrieve(cached.id)
    expect(found.id == cached.id and found.output_text == cached.output_text, f"retrieved {found.id} {found.output_text!r}")
    try:
        client.responses.retrieve("resp_" + "0" * 48)
    except openai.NotFoundError:
        return
    raise AssertionError("no NotFoundError for an unknown id")


def bypass():
    background = client.responses.with_raw_response.create(model=MODEL, input=said("Run this one in the background."), background=True)
    expect(x_cache(background) == "BYPASS", f"background: X-Cache {x_cache(background)}")
    expect(background.parse().status == "queued", f"status {background.parse().status}")
    conversation = client.responses.with_raw_response.create(model=MODEL, input=said("Carry on our long chat."), conversation="conv_integration")
    expect(x_cache(conversation) == "BYPASS", f"conversation: X-Cache {x_cache(conversation)}")


def function_call():
    tools = [{"type": "function", "name": "lookup", "description": "Look up", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}]
    asked = dict(model=MODEL, input=said("Find the opening hours of the museum."), tools=tools)
    live = [event for event in client.responses.create(stream=True, **asked)][-1].response.output[-1]
    expect(live.type == "function_call" and live.name == "lookup", f"live output {live}")
    stream = client.responses.create(stream=True, **asked)
    expect(x_cache(stream.response) == "HIT", f"the streamed repeat: X-Cache {x_cache(stream.response)}")
    events = list(stream)
    arguments = "".join(event.delta for event in events if event.type == "response.function_call_arguments.delta")
    replayed = events[-1].response.output[-1]
    expect(arguments == live.arguments, f"argument deltas {arguments!r} != {live.arguments!r}")
    expect((replayed.call_id, replayed.name, replayed.arguments) == (live.call_id, live.name, live.arguments), f"replayed {replayed} != {live}")


def bad_request():
    try:
        client.responses.create(model=MODEL, input=said("How warm should it be?"), temperature="hot")
    except openai.BadRequestError as error:
        expect(error.status_code == 400, f"status {error.status_code}")
        expect(error.body.get("param") == "temperature" and error.body.get("type") == "invalid_request_error", f"body {error.body}")
        return
    raise AssertionError("no BadRequestError")


for name, function in [
    ("responses miss then hit, same output_text and id", plain_hit),
    ("responses streamed miss relayed, streamed hit replays the stored response", streaming),
    ("responses.stream() on a hit: get_final_response()", stream_helper),
    ("responses previous_response_id is part of the key", previous_response_id),
    ("responses tenants isolated by API key", tenants),
    ("responses upstream 500 is InternalServerError, not cached", upstream_error),
    ("responses a stream ending in response.failed is not cached", failed_stream),
    ("responses paraphrase is a SEMANTIC-HIT", semantic),
    ("responses retrieve(id) of a cached response passes through", retrieve),
    ("responses background and conversation bypass the cache", bypass),
    ("responses function call replayed as argument deltas", function_call),
    ("responses bad request is a 400 naming the field", bad_request),
]:
    check(name, function)
