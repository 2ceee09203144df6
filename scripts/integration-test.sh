#!/usr/bin/env bash
# End-to-end checks of `llm-cache serve` with clients nobody here wrote: the
# official OpenAI and Anthropic Python SDKs, LangChain's ChatOpenAI and
# ChatAnthropic, and curl, against the stand-in upstream (which speaks both
# OpenAI's and Anthropic's APIs: the main proxy has it as both upstreams).
# Prints "N passed, N failed" and exits non-zero if anything failed.
# Usage: scripts/integration-test.sh [path/to/llm-cache]  (default .build/debug/llm-cache)
set -uo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/debug/llm-cache}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a server in the background and sets $url from its "listening on" line.
# (Not a command substitution: the server's pid must be recorded in this shell.)
start() {
  local out="$1"; shift
  "$@" >"$out" 2>"$out.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    if grep -q '^listening on ' "$out" 2>/dev/null; then url="$(sed -n 's/^listening on //p' "$out")"; return 0; fi
    sleep 0.1
  done
  echo "server did not start: $*" >&2; cat "$out.log" >&2; return 1
}

start "$work/upstream" "$bin" fake-upstream --port 0 || exit 1
upstream="$url"
token="integration-admin-token-0123456789"
start "$work/proxy" "$bin" serve --port 0 --upstream "$upstream/v1" --anthropic-upstream "$upstream" --store "sqlite:$work/cache.sqlite" --admin-token "$token" || exit 1
proxy="$url"

passed=0
failed=0
result() { # name, status (0 = pass), detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}

# The official SDKs and LangChain. Each script prints a PASS or FAIL line per
# check; one that dies, or prints none, is a failure of its own.
python_check() { # script, then its arguments
  local name out status
  name="$(basename "$1" .py)"
  out="$work/$name.out"
  timeout 600 python3 "$@" >"$out" 2>&1
  status=$?
  while IFS= read -r line; do
    echo "$line"
    case "$line" in PASS*) passed=$((passed + 1)) ;; FAIL*) failed=$((failed + 1)) ;; esac
  done < <(grep -E '^(PASS|FAIL)' "$out")
  if [ "$status" -ne 0 ] || ! grep -qE '^(PASS|FAIL)' "$out"; then
    result "$name ran to its end" 1 "exit status $status: $(grep -vE '^(PASS|FAIL)' "$out" | tail -3 | tr -s '\n' ' ')"
  fi
}
python_check scripts/integration/openai_sdk_check.py "$proxy" "$upstream"
python_check scripts/integration/responses_check.py "$proxy" "$upstream"
python_check scripts/integration/anthropic_sdk_check.py "$proxy" "$upstream"
python_check scripts/integration/langchain_check.py "$proxy" "$upstream"

# curl.
body='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"curl question"}]}'
auth=(-H "Authorization: Bearer sk-curl" -H "Content-Type: application/json")
first="$(curl -s -D - -o /dev/null "${auth[@]}" -d "$body" "$proxy/v1/chat/completions" | tr -d '\r' | sed -n 's/^X-Cache: //Ip')"
second="$(curl -s -D - -o /dev/null "${auth[@]}" -d "$body" "$proxy/v1/chat/completions" | tr -d '\r' | sed -n 's/^X-Cache: //Ip')"
[ "$first/$second" = "MISS/HIT" ]; result "curl miss then hit" $? "got $first/$second"

streamed="$(curl -sN "${auth[@]}" -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"curl question"}]}' "$proxy/v1/chat/completions")"
chunks="$(grep -c '^data: {' <<<"$streamed")"
[ "$(grep '^data: ' <<<"$streamed" | tail -1)" = "data: [DONE]" ] && [ "$chunks" -ge 4 ]; result "curl streamed hit: $chunks chunks and [DONE]" $? "$streamed"

# Semantic matching is on by default with the model installed: a paraphrase is served by meaning.
curl -s -o /dev/null "${auth[@]}" -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital city of France?"}]}' "$proxy/v1/chat/completions"
headers="$(curl -s -D - -o /dev/null "${auth[@]}" -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"whats the capital of France?"}]}' "$proxy/v1/chat/completions" | tr -d '\r')"
grep -qi '^X-Cache: SEMANTIC-HIT' <<<"$headers" && grep -qi '^X-Cache-Similarity: 0\.' <<<"$headers"
result "curl paraphrase is a SEMANTIC-HIT with its similarity" $? "$headers"

status="$(curl -s -o "$work/bad" -w '%{http_code}' "${auth[@]}" -d '{"model":"gpt-4o-mini","messages":' "$proxy/v1/chat/completions")"
[ "$status" = 400 ] && grep -q '"invalid_request_error"' "$work/bad"; result "curl invalid JSON is an OpenAI-style 400" $? "status $status: $(cat "$work/bad")"

status="$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -H 'Cache-Control: max-age=never' -d "$body" "$proxy/v1/chat/completions")"
[ "$status" = 400 ]; result "curl malformed Cache-Control is a 400" $? "status $status"

status="$(curl -s -o /dev/null -w '%{http_code}' "$proxy/admin/stats")"
[ "$status" = 401 ]; result "curl admin without token is 401" $? "status $status"

stats="$(curl -s -H "Authorization: Bearer $token" "$proxy/admin/stats")"
grep -q '"hits":' <<<"$stats"; result "curl admin stats" $? "$stats"
grep -q '"skipped_lookups":0' <<<"$stats"; result "curl admin stats count misses the full embed queue skipped" $? "$stats"

out="$("$bin" serve --port 0 --upstream "$upstream/v1" --embed-queue=-1 2>&1)"
[ $? -ne 0 ] && grep -q -- '--embed-queue must be between 0 (no limit) and' <<<"$out"; result "serve --embed-queue=-1 is refused with what to give" $? "$out"

metrics="$(curl -s "$proxy/metrics")"
grep -q 'llm_cache_proxy_requests_total{route="chat_completions",cache="hit"}' <<<"$metrics" && grep -q '^llm_cache_hits_total' <<<"$metrics"
result "curl /metrics" $? "$(head -c 300 <<<"$metrics")"

[ "$(curl -s "$proxy/healthz")" = '{"status":"ok"}' ]; result "curl healthz" $? ""

# Time limits and an unreachable upstream, against proxies of their own.
start "$work/proxy-timeout" "$bin" serve --port 0 --upstream "$upstream/v1" --store memory --semantic off --upstream-timeout 1 || exit 1
proxy_timeout="$url"
slow_body='{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"a slow stream"}]}'
slow="$(curl -sN -w '\n%{time_total}' "${auth[@]}" -H 'X-Fake-Chunk-Delay-Ms: 300' -d "$slow_body" "$proxy_timeout/v1/chat/completions")"
took="$(tail -1 <<<"$slow")"
grep '^data: ' <<<"$slow" | tail -1 | grep -q '"code":"timeout"' && python3 -c "import sys; sys.exit(0 if $took < 3 else 1)"
result "--upstream-timeout 1: a slower stream ends within 3 s with an error event" $? "took ${took}s: $(tail -3 <<<"$slow")"
again="$(curl -s -D - -o /dev/null "${auth[@]}" -d "$slow_body" "$proxy_timeout/v1/chat/completions" | tr -d '\r' | sed -n 's/^X-Cache: //Ip')"
[ "$again" = "MISS" ]; result "a stream cut by the time-out is not cached" $? "got $again"
dead_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
start "$work/proxy-refused" "$bin" serve --port 0 --upstream "http://127.0.0.1:$dead_port/v1" --store memory --semantic off || exit 1
refused="$(curl -s -o "$work/refused" -w '%{http_code} %{time_total}' "${auth[@]}" -d "$body" "$url/v1/chat/completions")"
[ "${refused% *}" = 502 ] && python3 -c "import sys; sys.exit(0 if ${refused#* } < 2 else 1)" && grep -q '"upstream_error"' "$work/refused"
result "a refused upstream port answers 502 within 2 s" $? "got $refused: $(cat "$work/refused")"

# The sampling policy through `llm-cache serve`, counted at the upstream.
upstream_chats() { curl -s "$upstream/fake/stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["chat"])'; }
sample_cache() { curl -s -D - -o /dev/null "${auth[@]}" -d "$2" "$1/v1/chat/completions" | tr -d '\r' | sed -n 's/^X-Cache: //Ip'; }
start "$work/proxy-variants" "$bin" serve --port 0 --upstream "$upstream/v1" --store "sqlite:$work/variants.sqlite" --semantic off --sampling variants:2 || exit 1
proxy_variants="$url"
hot='{"model":"gpt-4o-mini","temperature":0.9,"messages":[{"role":"user","content":"tell me a story"}]}'
before="$(upstream_chats)"
sequence="$(sample_cache "$proxy_variants" "$hot")/$(sample_cache "$proxy_variants" "$hot")/$(sample_cache "$proxy_variants" "$hot")/$(sample_cache "$proxy_variants" "$hot")"
calls=$(( $(upstream_chats) - before ))
[ "$sequence" = "MISS/MISS/HIT/HIT" ] && [ "$calls" = 2 ]
result "--sampling variants:2: four sampled requests, two upstream calls, then hits" $? "got $sequence with $calls upstream calls"
LLMCACHE_SAMPLING=skip-above:0.5 start "$work/proxy-skip" "$bin" serve --port 0 --upstream "$upstream/v1" --store "sqlite:$work/skip.sqlite" --semantic off || exit 1
proxy_skip="$url"
cool='{"model":"gpt-4o-mini","temperature":0.2,"messages":[{"role":"user","content":"tell me a story"}]}'
before="$(upstream_chats)"
sequence="$(sample_cache "$proxy_skip" "$hot")/$(sample_cache "$proxy_skip" "$hot")/$(sample_cache "$proxy_skip" "$cool")/$(sample_cache "$proxy_skip" "$cool")"
calls=$(( $(upstream_chats) - before ))
[ "$sequence" = "BYPASS/BYPASS/MISS/HIT" ] && [ "$calls" = 3 ]
result "LLMCACHE_SAMPLING=skip-above:0.5: hot requests bypass, cool ones are cached" $? "got $sequence with $calls upstream calls"
bad="$("$bin" serve --sampling variants:zero 2>&1 >/dev/null)"
grep -q "variants:N" <<<"$bad"; result "--sampling with a bad value says what is accepted" $? "$bad"

# A cache file that is not a database does not stop the proxy: it is moved
# aside (kept, named in the log) and the proxy caches into a fresh file.
head -c 8192 /dev/urandom >"$work/damaged.sqlite"
cp "$work/damaged.sqlite" "$work/damaged.original"
if start "$work/proxy-damaged" "$bin" serve --port 0 --upstream "$upstream/v1" --store "sqlite:$work/damaged.sqlite" --semantic off; then
  proxy_damaged="$url"
  moved="$(ls "$work"/damaged.sqlite.damaged-* 2>/dev/null | head -1)"
  sequence="$(sample_cache "$proxy_damaged" "$cool")/$(sample_cache "$proxy_damaged" "$cool")"
  [ -n "$moved" ] && cmp -s "$moved" "$work/damaged.original" && grep -q "moved to $moved" "$work/proxy-damaged.log" && [ "$sequence" = "MISS/HIT" ]
  result "serve on a damaged SQLite file: set aside with a log line, then caches in a fresh file" $? "moved '$moved', got $sequence, log: $(tail -2 "$work/proxy-damaged.log")"
else
  result "serve on a damaged SQLite file starts" 1 "it did not start"
fi

# Two proxies sharing one real redis-server (--redis): what one stores the other
# serves, and an invalidation through one reaches the other's memory tier.
redis_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
start "$work/proxy-a" "$bin" serve --port 0 --upstream "$upstream/v1" --redis "redis://127.0.0.1:$redis_port" --admin-token "$token" --semantic off || exit 1
proxy_a="$url"
start "$work/proxy-b" "$bin" serve --port 0 --upstream "$upstream/v1" --redis "redis://127.0.0.1:$redis_port" --admin-token "$token" --semantic off || exit 1
proxy_b="$url"
shared='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"shared through redis"}]}'
x_cache() { curl -s -D - -o /dev/null "${auth[@]}" -d "$shared" "$1/v1/chat/completions" | tr -d '\r' | sed -n 's/^X-Cache: //Ip'; }
sequence="$(x_cache "$proxy_a")/$(x_cache "$proxy_b")/$(x_cache "$proxy_b")"
[ "$sequence" = "MISS/HIT/HIT" ]; result "redis: a miss through one proxy is a hit through another" $? "got $sequence"
curl -s -o /dev/null -H "Authorization: Bearer $token" -d '{"all":true}' "$proxy_a/admin/invalidate"
after="$(x_cache "$proxy_b")"
[ "$after" = "MISS" ]; result "redis: an invalidation through one proxy reaches the other" $? "got $after"

# Two proxies with semantic matching on, sharing the same redis-server under
# another prefix: an answer one stores is served by meaning through the other,
# which learns of its vector from the semantic feed (no restart).
start "$work/proxy-c" "$bin" serve --port 0 --upstream "$upstream/v1" --redis "redis://127.0.0.1:$redis_port" --redis-prefix "semantic-check:" --admin-token "$token" --semantic on || exit 1
proxy_c="$url"
start "$work/proxy-d" "$bin" serve --port 0 --upstream "$upstream/v1" --redis "redis://127.0.0.1:$redis_port" --redis-prefix "semantic-check:" --admin-token "$token" --semantic on || exit 1
proxy_d="$url"
curl -s -o /dev/null "${auth[@]}" -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital city of France?"}]}' "$proxy_c/v1/chat/completions"
paraphrase='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"whats the capital of France?"}]}'
semantic_headers=""
for _ in $(seq 1 50); do
  semantic_headers="$(curl -s -D - -o /dev/null "${auth[@]}" -H 'Cache-Control: no-store' -d "$paraphrase" "$proxy_d/v1/chat/completions" | tr -d '\r')"
  grep -qi '^X-Cache: SEMANTIC-HIT' <<<"$semantic_headers" && break
  sleep 0.2
done
grep -qi '^X-Cache: SEMANTIC-HIT' <<<"$semantic_headers"
result "redis: an answer stored through one proxy is a SEMANTIC-HIT through another" $? "$semantic_headers"

# Redis stopped under the proxies and started again on its port: /readyz says
# so, caching comes back, and the outage is one warning in the log however
# many requests it failed.
status="$(curl -s -o /dev/null -w '%{http_code}' "$proxy_a/readyz")"
[ "$status" = 200 ]; result "redis: /readyz is 200 while Redis answers" $? "status $status"
redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1
for _ in $(seq 1 10); do x_cache "$proxy_a" >/dev/null; done
status="$(curl -s -o /dev/null -w '%{http_code}' "$proxy_a/readyz")"
[ "$status" = 503 ]; result "redis: /readyz is 503 while Redis is down" $? "status $status"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >>"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1 100); do
  status="$(curl -s -o /dev/null -w '%{http_code}' "$proxy_a/readyz")"
  [ "$status" = 200 ] && break
  sleep 0.1
done
[ "$status" = 200 ]; result "redis: /readyz is 200 again once Redis is back" $? "status $status"
sequence="$(x_cache "$proxy_a")/$(x_cache "$proxy_a")"
[ "$sequence" = "MISS/HIT" ]; result "redis: caching is back after the restart" $? "got $sequence"
warnings="$(grep -c 'warning.*cache store unavailable' "$work/proxy-a.log")"
back="$(grep -c 'cache store available again' "$work/proxy-a.log")"
[ "$warnings" = 1 ] && [ "$back" = 1 ]; result "redis: the outage is one warning and one recovery line in the log" $? "$(grep -E 'warning|notice' "$work/proxy-a.log" | head -20)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
