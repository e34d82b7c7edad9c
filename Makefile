# Two commands for a fresh machine (Python 3.11+): `make serve` and `make test`.
# Both create the virtualenv and install on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# checkov pins an older boto3 than aws-sam-cli accepts, so it lives in a virtualenv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV ?= .venv-checkov
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install serve test lint format typecheck template-lint security build unit integration coverage bench bench-local clean event-schemas lock browser setup-page setup-screenshots

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is required (found: $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## Run the local gateway (moto in process) with a demo tenant; prints its Tenant URL and token.
## Data, the demo token and the provisioning events are kept in .scimctl/data across restarts
## (`make serve SERVE_ARGS=--reset` starts empty).
SERVE_ARGS ?=
serve: install
	$(BIN)/scimctl serve --data-dir .scimctl/data $(SERVE_ARGS)

## Everything CI runs: lint, type check, template lint and build, every test, coverage floor.
test: lint typecheck template-lint security build unit integration coverage

lint: install
	$(BIN)/ruff check src tests bench docs/examples
	$(BIN)/ruff format --check src tests bench docs/examples

format: install
	$(BIN)/ruff format src tests bench docs/examples
	$(BIN)/ruff check --fix src tests bench docs/examples

typecheck: install
	$(BIN)/mypy

template-lint: install
	$(BIN)/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	$(BIN)/sam validate --lint

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'
	touch $@

## Static security checks (docs/security.md): checkov on the template (offline; any failed check
## fails, skips are justified in each resource's Metadata) and bandit on src/ (skips inline, # nosec).
security: install $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet
	$(BIN)/bandit --quiet --configfile pyproject.toml --recursive src

## Re-resolve layer/requirements.txt into the hash-locked layer/requirements.lock (see layer/Makefile).
lock:
	$(MAKE) -C layer lock

## `sam build` without a container: layer/Makefile cross-installs arm64 wheels for Python 3.13.
build: install
	$(BIN)/sam build --parallel

# Two runs (unit tests, then real HTTP against the local gateway), one coverage report.
# Both run in parallel workers (one per core; moto's state is per process). Each integration worker
# starts its own local gateway and takes whole files (--dist loadfile), so a module's fixtures run once.
TEST_WORKERS ?= auto
# The floor is checked once, by `coverage`, on both runs combined.
unit: install
	$(BIN)/pytest -n $(TEST_WORKERS) --cov --cov-report= --cov-fail-under=0 tests/unit

integration: install browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --cov --cov-append --cov-report= --cov-fail-under=0 tests/integration

coverage: install
	$(BIN)/coverage report

## Benchmarks (moto, counts not seconds): per-operation workload at 1k/10k/100k users with the
## scim2-server peer ratio, then cold start per handler. Writes bench/results/*.json.
bench: install
	$(BIN)/python -m bench.workload
	$(BIN)/python -m bench.coldstart
	$(BIN)/python -m bench.directory
	$(BIN)/python -m bench.feed

## The local default under an IdP's initial sync, over real HTTP through `scimctl serve`: 10,000 users,
## 100 groups of 100 members, 4 clients; then a 100,000-user store. Prints p50/p95 per 1,000 users and
## the server's memory; writes bench/results/local.json (docs/performance.md).
bench-local: install
	$(BIN)/python -m bench.local

## The setup page's browser tests drive Debian's chromium: Playwright cannot download its own
## browsers here. Installed with apt-get when missing (CI runs as root); anything else fails loudly.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
browser:
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "error: $(CHROMIUM) is missing: apt-get install chromium (as root), or set CHROMIUM=" >&2; exit 1; fi; }
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) is still missing after apt-get install chromium" >&2; exit 1; }

## Regenerate the setup page's IdP steps from docs/idp/*.md (a test checks they are current).
setup-page: install
	$(BIN)/python -m scimctl.idp_steps

## Screenshots of the setup page for each IdP into docs/setup-page/ (docs/setup-page.md).
setup-screenshots: install browser
	SETUP_SCREENSHOTS_DIR=docs/setup-page $(BIN)/pytest -q -p no:cacheprovider \
		tests/integration/test_setup_page_browser.py -k each_idp

## Regenerate docs/events/*.json from the event models (a test checks they are current).
event-schemas: install
	$(BIN)/python -m scimctl.event_schemas docs/events

clean:
	rm -rf .aws-sam .venv-checkov .pytest_cache .mypy_cache .ruff_cache .coverage .scimctl
