# Sitedrop: `make run` opens the app, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
CARGO ?= cargo
APP := target/debug/sitedrop-app

.PHONY: run test build deps-run deps-test lint test-unit test-keychain test-faults test-peers test-ui test-gui supply-chain audit bench bench-quick package clean

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
	$(MAKE) test-unit test-keychain test-peers test-ui test-gui supply-chain

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

# The platforms' official clients (wrangler, netlify-cli, vercel, boto3; pinned in tests/peers/,
# installed once into .tools/peers) deploy an awkward site to the emulator over TLS, twice, and
# every served file must equal the folder's: the emulator's own proof. Offline (a private
# network namespace where the system allows one).
test-peers:
	$(CARGO) build -p sitedrop-emulator
	scripts/test-peers.sh

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

# The UI's pure modules (formatting, progress, error wording) under Node's test runner.
test-ui:
	node --test ui/tests/

# The desktop app end to end: the built app under Xvfb, driven through WebDriver
# (tauri-driver + WebKitWebDriver), with a real Secret Service and the emulator.
# Screenshots of every screen: target/gui-screenshots/.
TAURI_DRIVER := .tools/bin/tauri-driver
# Built with --workspace, like `make test`, so features unify the same way and nothing rebuilds.
# Then the run's output (the app's and WebKit's logs included), the sandboxes' databases and
# the text each screenshot shows are checked for credentials, like the CLI's.
GUI_ARTIFACTS := $(ARTIFACTS)/gui
test-gui: deps-test $(TAURI_DRIVER)
	$(CARGO) build --workspace --all-targets
	rm -rf $(GUI_ARTIFACTS) target/gui-screenshots && mkdir -p $(GUI_ARTIFACTS)
	SITEDROP_TEST_ARTIFACTS=$(GUI_ARTIFACTS) bash -o pipefail -c 'xvfb-run -a -s "-screen 0 1280x800x24" scripts/with-keyring.sh \
	  $(CARGO) test --workspace --test gui -- --ignored --test-threads=1 --nocapture 2>&1 | tee $(GUI_ARTIFACTS)/run.log'
	scripts/check-no-secrets.sh $(TEST_SECRETS) -s not_a_real_token $(GUI_ARTIFACTS) target/gui-screenshots

$(TAURI_DRIVER):
	$(CARGO) install tauri-driver --version 2.1.0 --locked --root .tools

# The Debian package, built offline with the Tauri CLI from npm (a prebuilt binary), in release.
# The release profile keeps line tables for backtraces; the packaged binary is stripped of them
# (182 MB -> 25 MB), then bundled.
package: deps-run
	npm install --no-audit --no-fund
	npx tauri build --no-bundle
	strip target/release/sitedrop-app
	npx tauri bundle --bundles deb
	@ls -l target/release/bundle/deb/*.deb

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
