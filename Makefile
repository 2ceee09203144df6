# The two commands a fresh machine needs: `make run` and `make test`.
# Everything they need is installed by `make deps`, idempotently.

SWIFT ?= swift
BIN_DEBUG = .build/debug/llm-cache
BIN_RELEASE = .build/release/llm-cache

.PHONY: run demo test deps test-deps build release bench clean

## Install system packages and the embedding model (idempotent).
deps:
	@scripts/install-deps.sh
	@scripts/install-model.sh

## What the tests drive the proxy with: the OpenAI and Anthropic Python SDKs,
## LangChain, curl, wrk, and Debian's chromium for the dashboard (idempotent).
test-deps: deps
	@scripts/install-test-deps.sh
	@scripts/install-browser.sh

## Build and start the caching proxy on the embedded defaults: a SQLite file
## and semantic matching with the native MiniLM model, in front of OpenAI.
## Set UPSTREAM, PORT or STORE to change them; Ctrl-C stops it.
UPSTREAM ?= https://api.openai.com/v1
PORT ?= 8080
STORE ?= sqlite:./llm-cache.sqlite
run: deps
	$(SWIFT) build -c release --product llm-cache
	$(BIN_RELEASE) serve --port $(PORT) --upstream $(UPSTREAM) --store $(STORE)

## A demonstration of the library itself: repeated calls to a slow function.
demo: deps
	$(SWIFT) build --product llm-cache
	$(BIN_DEBUG) demo

## Install what the tests need, then build and run every test: the Swift
## suites (Redis tests start their own redis-server on free loopback ports)
## and the proxy's end-to-end checks with the official OpenAI and Anthropic SDKs,
## LangChain and curl, and its dashboard in headless Chromium.
test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip OutageRecoveryTests
	# Alone, so that no other suite's work in the same process (two cooperative
	# threads on this machine) delays the Redis client's probe it times.
	$(SWIFT) test --skip-build --filter OutageRecoveryTests
	scripts/integration-test.sh $(BIN_DEBUG)
	scripts/dashboard-check.sh $(BIN_DEBUG)

## Release build and every benchmark; figures go to standard output.
bench: test-deps
	$(SWIFT) build -c release --product llm-cache
	$(BIN_RELEASE) bench memory
	$(BIN_RELEASE) bench embed
	$(BIN_RELEASE) bench semantic
	$(BIN_RELEASE) bench sqlite
	$(BIN_RELEASE) bench redis
	$(BIN_RELEASE) bench proxy

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product llm-cache

clean:
	rm -rf .build
