# The README's commands. Everything runs from a project-local virtualenv,
# created on first use and refreshed only when pyproject.toml changes.
# The stamps say what is installed: .streamlab-course (`make lab`) and
# .streamlab-installed (everything, `make test`).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.streamlab-installed
COURSE := $(VENV)/.streamlab-course
PORT   ?= 8888
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k sse"`.
PYTEST_ARGS ?=

.PHONY: lab test room browser bench lint format strip clean help

help:
	@echo "make lab      set up, then open JupyterLab on notebooks/"
	@echo "make test     set up and 'make browser', then run every test and notebook"
	@echo "make room     only the room tests: a real JupyterHub, STREAMLAB_ROOM_LEARNERS=6 learners"
	@echo "make browser  find Chromium/Chrome for the browser tests, or install it"
	@echo "make bench    run the benchmarks in benchmarks/"
	@echo "make lint     run ruff"
	@echo "make strip    remove outputs from the notebooks"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), sys.version' 2>/dev/null || \
	  { echo "streamlab needs Python >= 3.10 as '$(PYTHON)' (set PYTHON=/path/to/python3.x)." >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  echo "Could not create a virtualenv: Python's venv module is missing." >&2; \
	  echo "On Debian/Ubuntu install it with:  sudo apt-get install python3-venv" >&2; exit 1; }

# `make lab` needs the course (.[course]); `make test` and the tools need .[dev],
# which includes the course, so installing dev stamps both.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(COURSE)

$(COURSE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[course]'
	@touch $(COURSE)

# Jupyter refuses to run as root unless told to (containers, CI, Binder-like hosts).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(COURSE)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.port=$(PORT) $(ROOT_FLAG) $(LAB_ARGS)

# Finds Chromium/Chrome, else installs it (apt-get as root or with passwordless
# sudo, else `playwright install chromium`), else stops with the command to type.
# Order and knobs: the docstring of tests/browser/provision_browser.py.
browser: $(STAMP)
	@PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python tests/browser/provision_browser.py

test: browser
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# A real JupyterHub with N learners (tests/room): the hub, its proxy and every
# learner's server come from .venv; STREAMLAB_ROOM_LEARNERS=N seats N.
room: browser
	$(BIN)/python -m pytest -m room tests/room $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

strip: $(STAMP)
	$(BIN)/nbstripout --keep-id notebooks/*.ipynb notebooks/solutions/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build src/*.egg-info
