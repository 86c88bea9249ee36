# Agent Vault: `make run` and `make test` install whatever is missing first.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo

.PHONY: run test deps lint unit-and-integration

deps:
	@scripts/install-deps.sh

## Run Agent Vault (the command line until the desktop app lands): shows its status.
run: deps
	$(CARGO) build -p vault-cli
	target/debug/agent-vault status

## Every check and test: formatting, lints, unit tests, and integration tests
## against a real Secret Service and real SQLite files.
test: deps lint unit-and-integration

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit-and-integration:
	scripts/with-secret-service.sh $(CARGO) test --workspace
