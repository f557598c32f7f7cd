# Sitedrop: `make run` opens the app, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
CARGO ?= cargo
APP := target/debug/sitedrop-app

.PHONY: run test build deps-run deps-test lint test-unit test-keychain test-faults supply-chain audit bench bench-quick package clean

run: deps-run
	$(CARGO) build -p sitedrop-app -p sitedrop-cli
	$(APP)

build: deps-run
	$(CARGO) build --workspace --all-targets

deps-run:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test

# Everything CI runs: formatting, lints, unit and end-to-end tests, the real keychain, the
# dependencies' licences and sources.
test: deps-test
	$(CARGO) fmt --all -- --check
	$(CARGO) build --workspace --all-targets
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(MAKE) test-unit test-keychain supply-chain

# Every CLI output and history database of the run is kept in ARTIFACTS, then checked for
# credentials: the emulator's, and the wrong ones tests use on purpose (SECURITY.md).
ARTIFACTS := $(CURDIR)/target/test-artifacts
TEST_SECRETS := -s cf_wrong_secret_123 -s not-the-right-token -s nfp_revoked_4f9a2c -s _token_tail
test-unit:
	rm -rf $(ARTIFACTS)
	SITEDROP_TEST_ARTIFACTS=$(ARTIFACTS) $(CARGO) test --workspace
	scripts/check-no-secrets.sh $(TEST_SECRETS) $(ARTIFACTS)

# The fault matrix alone (part of test-unit): every cloud platform through the emulator.
test-faults:
	$(CARGO) test -p sitedrop-e2e --test cli_faults --test cli_crash

# Licences, bans and sources of every dependency (deny.toml), offline. Known vulnerabilities
# need the RustSec advisory database, which is on GitHub: `make audit` where it is reachable.
supply-chain:
	scripts/supply-chain.sh

audit:
	scripts/supply-chain.sh advisories

# The real Secret Service, three ways: unlocked (a private D-Bus session with an unlocked GNOME
# Keyring), locked (GNOME Keyring started by D-Bus activation, never unlocked), and absent.
KEYCHAIN_TEST = $(CARGO) test -q -p sitedrop-core --lib -- --ignored --exact
test-keychain:
	scripts/with-keyring.sh $(KEYCHAIN_TEST) secrets::tests::real_keychain_round_trip
	tmp=$$(mktemp -d) && XDG_DATA_HOME=$$tmp dbus-run-session -- $(KEYCHAIN_TEST) secrets::tests::real_keychain_locked_gives_a_clear_error; rc=$$?; rm -rf $$tmp; exit $$rc
	env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR=/nonexistent $(KEYCHAIN_TEST) secrets::tests::real_keychain_absent_gives_a_clear_error

bench:
	$(CARGO) run --release -p sitedrop-bench

bench-quick:
	$(CARGO) run --release -p sitedrop-bench -- --quick

clean:
	$(CARGO) clean
	rm -rf bench-sites
