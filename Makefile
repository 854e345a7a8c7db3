# The README's commands. Everything runs from a project-local virtualenv,
# created on first use and refreshed when pyproject.toml or a lock changes.
# It installs the exact, hash-checked versions of requirements/*.lock.txt
# (written by `make lock`), so a learner gets what the tests verified.
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
DEV_LOCK    := requirements/dev.lock.txt
COURSE_LOCK := requirements/course.lock.txt
# `make test-latest`: a throwaway venv at the newest releases, not the lock.
LATEST ?= .venv-latest

.PHONY: lab test test-latest lock room browser bench lint format strip clean help

help:
	@echo "make lab      set up, then open JupyterLab on notebooks/"
	@echo "make test     set up and 'make browser', then run every test and notebook"
	@echo "make test-latest  the unit tests and notebooks at the newest releases, not the lock"
	@echo "make lock     re-resolve requirements/*.lock.txt at today's newest releases"
	@echo "make room     only the room tests: a real JupyterHub, STREAMLAB_ROOM_LEARNERS=6 learners"
	@echo "make browser  find Chromium/Chrome for the browser tests, or install it"
	@echo "make bench    run the benchmarks in benchmarks/"
	@echo "make lint     run ruff"
	@echo "make strip    remove outputs from the notebooks"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null || \
	  { echo "streamlab needs Python >= 3.11 as '$(PYTHON)' (set PYTHON=/path/to/python3.x)." >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  echo "Could not create a virtualenv: Python's venv module is missing." >&2; \
	  echo "On Debian/Ubuntu install it with:  sudo apt-get install python3-venv" >&2; exit 1; }

# `make lab` needs the course lock; `make test` and the tools need the dev lock,
# which includes the course at the same versions, so installing dev stamps both.
# The lock is hash-checked (pip turns that on for a file with hashes); streamlab
# itself comes after it, without dependencies, since an editable install has no hash.
$(STAMP): pyproject.toml $(DEV_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP) $(COURSE)

$(COURSE): pyproject.toml $(COURSE_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r $(COURSE_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(COURSE)

# One universal resolution for every supported Python (markers where pins differ),
# with hashes; the course lock is the dev lock's subset at the same versions.
# Then src/streamlab/_verified.py, which tells an installed streamlab what the
# course was verified with. Commit all three; tests/test_lock.py checks them.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --generate-hashes --upgrade \
	--quiet --custom-compile-command "make lock"
lock: | $(BIN)/python
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv
	$(UV_COMPILE) --extra dev -o $(DEV_LOCK)
	$(UV_COMPILE) --extra course -c $(DEV_LOCK) -o $(COURSE_LOCK)
	$(BIN)/python .ci/lockfile.py verified

# Jupyter refuses to run as root unless told to (containers, CI, Binder-like hosts).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(COURSE)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.port=$(PORT) $(ROOT_FLAG) $(LAB_ARGS)

# Finds Chromium/Chrome, else installs it (apt-get as root or with passwordless
# sudo, else `playwright install chromium`), else stops with the command to type.
# Order and knobs: the docstring of tests/browser/provision_browser.py.
browser: $(STAMP)
	@PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python tests/browser/provision_browser.py

# STREAMLAB_REHEARSE=1: the notebooks' local provider goes by the real providers'
# default model names and refuses what those models refuse, as the real APIs do.
test: browser
	STREAMLAB_REHEARSE=1 $(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# Drift: what a fresh install would get today. The unit tests and the notebooks
# (not the browser, co-install or room tests) in a new venv at the newest
# releases that pyproject.toml allows; first it lists what differs from the lock.
test-latest: $(STAMP)
	rm -rf $(LATEST)
	$(BIN)/uv venv --quiet --python $(BIN)/python $(LATEST)
	VIRTUAL_ENV=$(abspath $(LATEST)) $(BIN)/uv pip install --quiet --upgrade -e '.[dev]'
	@touch $(LATEST)/.streamlab-installed $(LATEST)/.streamlab-course
	$(LATEST)/bin/python .ci/lockfile.py drift
	STREAMLAB_UNLOCKED=1 $(LATEST)/bin/python -m pytest -n 2 --dist loadfile -p no:cacheprovider -m "not browser" \
	  --ignore=tests/browser --ignore=tests/test_coinstall.py --ignore=tests/room $(PYTEST_ARGS)

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
	rm -rf $(VENV) $(LATEST) .pytest_cache .hypothesis build src/*.egg-info
