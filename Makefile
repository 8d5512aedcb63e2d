# yt8m-tfx: the two commands users need are `make demo` and `make test`.
# Everything else here (setup, lock) is what those two depend on.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
VENV := .venv
VPY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
LOCK_PLATFORM := x86_64-manylinux_2_28
SHARED_DATA := $(abspath ../shared/data/yt8m)
DEMO_DIR ?= demo_data
DEMO_ROOT ?= demo_output

export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL ?= 3
# The real YT8M sample, when the shared folder sits beside the checkout (CI, developer machines).
ifneq ($(wildcard $(SHARED_DATA)/video_validate_sample),)
export YT8M_SAMPLE_DIR ?= $(SHARED_DATA)
endif

# A working Python 3.10: $(PYTHON) if the user gave one, else python3.10 on PATH (skipping a
# pyenv shim that is not selected), else pyenv's own 3.10 install. Evaluated only when needed.
find_python = $(shell \
  for c in python3.10 "$$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10; do \
    [ -n "$$c" ] || continue; \
    if "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; then \
      command -v "$$c"; break; fi; \
  done)
PYTHON ?= $(find_python)

.PHONY: help setup lock demo test test-fast lint e2e bench clean distclean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(VPY):
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: no working Python 3.10 found (tried python3.10 on PATH and pyenv's versions/3.10*); install it or run 'make setup PYTHON=/path/to/python3.10'" >&2; exit 1; fi
	@"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' || { \
	  echo "error: PYTHON=$(PYTHON) is not a working Python 3.10 (TFX 1.16 needs 3.10)" >&2; exit 1; }
	"$(PYTHON)" -m venv $(VENV)

$(UV): | $(VPY)
	$(VPY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Re-installs only when the lock or the project metadata change.
$(STAMP): requirements.lock pyproject.toml | $(UV)
	@echo "setup: installing requirements.lock into $(VENV), then compiling bytecode (1-3 min)"
	@$(UV) pip sync --quiet --python $(VPY) --compile-bytecode requirements.lock
	@$(UV) pip install --quiet --python $(VPY) --no-deps -e .
	@echo "setup: $$(grep -c '==' requirements.lock) locked packages and this project in $(VENV);" \
	  "the CLI is $(VENV)/bin/yt8m (or: source $(VENV)/bin/activate)"
	@touch $@

setup: $(STAMP)  ## create .venv from requirements.lock (no-op when up to date)

lock: | $(UV)  ## regenerate requirements.lock from requirements.in
	$(UV) pip compile --python-version 3.10 --python-platform $(LOCK_PLATFORM) \
	  --no-header --annotation-style line requirements.in -o requirements.lock

demo: setup  ## generate a small synthetic dataset (if absent) and run the TFX pipeline on it
	@[ -f $(DEMO_DIR)/train_labels.csv ] || $(VENV)/bin/yt8m generate-data --output_dir $(DEMO_DIR) \
	  --num_videos 1200 --num_shards 4 --seed 7
	$(VENV)/bin/yt8m pipeline run --data_dir $(DEMO_DIR) --pipeline_root $(DEMO_ROOT) \
	  --batch_size 64 --num_epochs 10

lint: setup  ## the linter alone (ruff, rules in pyproject.toml; make test runs it too)
	$(VENV)/bin/ruff check .

test: setup  ## run the whole test suite (unit + end-to-end, the linter included)
	$(VPY) -m pytest -q --durations=40 tests

test-fast: setup  ## unit tests only, without the end-to-end pipeline runs
	$(VPY) -m pytest -q -m "not e2e" tests

bench: setup  ## run the benchmarks (about 100 min on 2 cores) and rewrite benchmarks/RESULTS.md
	$(VPY) -m benchmarks.run_all

clean:  ## remove demo outputs and caches (keeps .venv)
	rm -rf $(DEMO_DIR) $(DEMO_ROOT) .pytest_cache

distclean: clean  ## also remove .venv
	rm -rf $(VENV)
