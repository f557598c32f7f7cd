# Sitedrop: `make run` opens the app, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
CARGO ?= cargo
APP := target/debug/sitedrop-app

.PHONY: run test build deps-run deps-test lint test-unit test-keychain bench bench-quick package clean

run: deps-run
	$(CARGO) build -p sitedrop-app -p sitedrop-cli
	$(APP)

build: deps-run
	$(CARGO) build --workspace --all-targets

deps-run:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test

# Everything CI runs: formatting, lints, unit and end-to-end tests, the real keychain.
test: deps-test
	$(CARGO) fmt --all -- --check
	$(CARGO) build --workspace --all-targets
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(MAKE) test-unit test-keychain

test-unit:
	$(CARGO) test --workspace

# The real Secret Service, three ways: unlocked (a private D-Bus session with an unlocked GNOME
# Keyring), locked (GNOME Keyring started by D-Bus activation, never unlocked), and absent.
KEYCHAIN_TEST = $(CARGO) test -q -p sitedrop-core --lib -- --ignored --exact
test-keychain:
	scripts/with-keyring.sh $(KEYCHAIN_TEST) secrets::tests::real_keychain_round_trip
	tmp=$$(mktemp -d) && XDG_DATA_HOME=$$tmp dbus-run-session -- $(KEYCHAIN_TEST) secrets::tests::real_keychain_locked_gives_a_clear_error; rc=$$?; rm -rf $$tmp; exit $$rc
	env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR=/nonexistent $(KEYCHAIN_TEST) secrets::tests::real_keychain_absent_gives_a_clear_error

# Benchmarks (BENCHMARKS.md says what they measure): the release `sitedrop` and emulator are
# run as child processes, so they are built first. `bench` writes BENCHMARKS.md; `bench-quick`
# (quarter-size sites, one round) only prints, in under two minutes.
BENCH_BINS := -p sitedrop-cli -p sitedrop-emulator
bench:
	$(CARGO) build --release $(BENCH_BINS)
	$(CARGO) run --release -p sitedrop-bench

bench-quick:
	$(CARGO) build --release $(BENCH_BINS)
	$(CARGO) run --release -p sitedrop-bench -- --quick

clean:
	$(CARGO) clean
	rm -rf bench-sites
