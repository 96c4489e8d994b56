# driftless: `make demo` and `make test` are all a fresh machine needs (they run the setup).
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/driftless
# Root installs packages directly; everyone else through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-servers setup-mongo build test-setup demo test bench lint fmt dist package clean

## setup: everything `make test` needs: server packages, FerretDB for MongoDB, the release build
setup: setup-servers setup-mongo build

## setup-servers: Debian's PostgreSQL and MariaDB server packages, when their binaries are missing
## (never started as services: driftless launches its own throwaway servers)
setup-servers:
	@missing=""; \
	if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then \
		missing="$$missing postgresql"; fi; \
	if ! command -v mariadbd >/dev/null 2>&1 && ! test -x /usr/sbin/mariadbd && ! command -v mysqld >/dev/null 2>&1; then \
		missing="$$missing mariadb-server"; fi; \
	if [ -n "$$missing" ]; then \
		echo "setup: installing Debian packages:$$missing (never started as services)"; \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
		echo "setup: PostgreSQL and MariaDB server binaries present"; \
	fi

## setup-mongo: FerretDB (a MongoDB wire-protocol server) built once into the cache when no
## mongod is installed; fetches Go 1.24 from the Go module proxy first when Go is missing
setup-mongo:
	bash scripts/setup-ferretdb.sh

## build: the release binary, target/release/driftless
build:
	$(CARGO) build --release --locked

## demo: `driftless check` on bundled examples with a lossy down: PostgreSQL (needs no Go), then
## MongoDB when FerretDB can be built (it needs Go; the demo says so when Go is missing)
demo: setup-servers build
	@echo
	@echo '$$ driftless check --migrations migrations-under-test/postgres/data_loss'
	@$(BIN) check --migrations migrations-under-test/postgres/data_loss; \
		code=$$?; echo; echo "driftless exited with $$code (1 = findings at or above --fail-on)"; \
		test $$code -le 1
	@if bash scripts/setup-ferretdb.sh --if-go; then \
		echo; echo '$$ driftless check --engine mongo --migrations migrations-under-test/mongo/unset_lossy --fixtures migrations-under-test/mongo/fixtures'; \
		$(BIN) check --engine mongo --migrations migrations-under-test/mongo/unset_lossy --fixtures migrations-under-test/mongo/fixtures; \
		code=$$?; echo; echo "driftless exited with $$code"; test $$code -le 1; \
	fi

## test-setup: tools only the tests use (Chromium for the HTML report, xmllint for JUnit XML)
test-setup:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v xmllint >/dev/null 2>&1 || missing="$$missing libxml2-utils"; \
	if [ -n "$$missing" ]; then \
		echo "test-setup: installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

## test: the whole suite against real PostgreSQL, MariaDB and MongoDB (FerretDB) servers
test: setup test-setup
	$(CARGO) test --release --locked

## bench: performance figures, each with its baseline measured in the same run
bench: setup
	$(CARGO) bench --locked --bench driftless_bench

## lint: formatting, clippy with warnings as errors, and the module layers (tests/layers.rs)
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings
	$(CARGO) test --release --locked --test layers

fmt:
	$(CARGO) fmt

## dist: a release archive target/dist/driftless-<version>-<target>.tar.gz (binary, licenses,
## README, the report schema and contract, shell completions, man pages, an example)
dist: build
	bash scripts/dist.sh $(BIN) target/dist

## package: `cargo package`, the crate as crates.io would receive it, built from the packaged files
package:
	$(CARGO) package --locked

clean:
	$(CARGO) clean
