# Two commands do all the set-up on a machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python backend/manage.py
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: install test lint format demo demo-setup serve migrate lock clean bench soak

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The browser tests (Playwright driving the system's Chromium) run when a Chromium is found; otherwise
# they are skipped and this says so. CI sets CI_REQUIRE_BROWSER=1, which turns that skip into a failure.
test: lint
	$(MANAGE) makemigrations --check --dry-run
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || test -n "$$CHROMIUM" \
		|| echo "*** No Chromium found: the browser tests (backend/dashboards/tests/test_browser.py) are SKIPPED." \
		        "Install it with: apt-get install chromium (or set CHROMIUM=/path/to/chromium)."
	$(BIN)/pytest $(PYTEST_ARGS)

migrate: install
	$(MANAGE) migrate --noinput

demo-setup: migrate
	$(MANAGE) demo_setup --port $(PORT)

demo: demo-setup
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# Benchmark of the analytics (docs/benchmarks.md); e.g. make bench BENCH_ARGS="--quick".
bench: migrate
	$(MANAGE) bench $(BENCH_ARGS)

# The concurrent soak, PostgreSQL only (docs/soak.md); e.g. make soak SOAK_ARGS="--clients 8 --seconds 30".
soak: migrate
	$(MANAGE) soak $(SOAK_ARGS)

serve: install
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# Re-resolve the pinned tree after changing pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --upgrade pip
	.lockenv/bin/pip install --quiet ".[dev]"
	.lockenv/bin/pip freeze --exclude school-analytics > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) backend/db.sqlite3 staticfiles
