# newswatch: every target installs what it needs from the lock file first.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test run demo bench serve clean lint

$(UV):
	python3 -m pip install --quiet --target .tools/lib uv==0.13.8 && mkdir -p .tools/bin && \
	  printf '#!/bin/sh\nPYTHONPATH=%s/.tools/lib exec python3 -m uv "$$@"\n' "$(CURDIR)" > .tools/bin/uv && chmod +x .tools/bin/uv

$(VENV)/.installed: uv.lock pyproject.toml Makefile | $(UV)
	@echo "installing the pinned dependencies of uv.lock into $(VENV) ..."
	$(UV) sync --frozen --all-groups --compile-bytecode --quiet
	touch $@

install: $(VENV)/.installed  ## install the CLI at .venv/bin/newswatch

test: install  ## run the test suite
	$(PY) -m pytest

run: install  ## one monitor pass of the default watch
	$(VENV)/bin/newswatch run

demo: install  ## the whole pipeline offline, on a fixture world
	$(VENV)/bin/newswatch demo

bench: install  ## speed and quality benchmarks (needs ../shared)
	$(PY) -m bench

serve: install  ## serve the schedules of prefect.yaml
	$(VENV)/bin/newswatch serve

clean:
	rm -rf $(VENV) .tools .pytest_cache build
