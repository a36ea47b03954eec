# Every target sets itself up: on a fresh machine with only Node/npm, `make run`
# and `make test` install Bun 1.4.5 and the locked dependencies first.
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(PATH)
ARGS ?=

.PHONY: setup run test build bench typecheck clean

setup:
	@./scripts/ensure-tools.sh

run: setup
	bun src/main.ts local $(ARGS)

# bun test ignores a timeout in bunfig.toml: the flag sets the per-test (and hook) default. Integration
# tests start real processes; they get room, but never rely on timing.
test: setup
	bun test --timeout 60000 $(ARGS)

# --splitting keeps code that only some commands need (the kube client) out of
# start-up: `eirini local` reaches /readyz about twice as fast, with ~15 MB less RSS.
build: setup
	rm -rf dist
	bun build --compile --minify --splitting src/main.ts --outfile dist/eirini

bench: build
	bun scripts/bench/run-all.ts $(ARGS)

typecheck: setup
	bunx tsc --noEmit -p .

clean:
	rm -rf dist
