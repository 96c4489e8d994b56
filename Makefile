# driftless: `make demo` and `make test` are all a fresh machine needs (they run `setup`).
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/driftless
# Root installs packages directly; everyone else through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup test-setup demo test bench lint fmt clean

## setup: install what is missing (PostgreSQL and MariaDB server binaries; FerretDB for MongoDB
## when no mongod is installed, built once into the cache) and build the release binary
setup:
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
	bash scripts/setup-ferretdb.sh
	$(CARGO) build --release --locked

## demo: run `driftless check` on a bundled migration set with a lossy down
demo: setup
	@echo
	@echo '$$ driftless check --migrations migrations-under-test/postgres/data_loss'
	@$(BIN) check --migrations migrations-under-test/postgres/data_loss; \
		code=$$?; echo; echo "driftless exited with $$code (1 = findings at or above --fail-on)"; \
		test $$code -le 1

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

## test: the whole suite against real PostgreSQL and MariaDB
test: setup test-setup
	$(CARGO) test --release --locked

## bench: performance figures, each with its baseline measured in the same run
bench: setup
	$(CARGO) bench --locked --bench driftless_bench

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean
