# Two commands do all the set-up on a fresh machine:
#   make demo   virtual environment, install, build the offline default model, load the demo data into the store
#               (SQLite) with a simulated coordinator's decisions, and start the app on http://127.0.0.1:8501
#   make test   virtual environment, install, run the test suite (fast fake-model tests, real-model tests, the
#               PostgreSQL store tests and the browser end-to-end test)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo shortlist test test-fast lint benchmark clean postgres chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: a CPU build; an unpinned torch would pull a CUDA build of several GB
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/semmatch models --prepare e5-small
	$(BIN)/semmatch app --demo

shortlist: $(STAMP)
	$(BIN)/semmatch models --prepare e5-small
	$(BIN)/semmatch demo

# PostgreSQL server binaries for the store's PostgreSQL tests (Debian package; they skip with a reason without it)
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || \
	  echo "PostgreSQL could not be installed here: the PostgreSQL store tests will skip"

# Chromium for the browser end-to-end test (Debian package; the test skips with a reason without it)
chromium:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "Chromium could not be installed here: the browser end-to-end test will skip"

test: $(STAMP) postgres chromium
	$(BIN)/python -m ruff check src tests data evaluation app.py
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not model"

benchmark: $(STAMP)
	bash evaluation/run_ba_skills_de.sh

clean:
	rm -rf $(VENV) models/demo-index
