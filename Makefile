# gotforge: every target does its own set-up. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS ?= configs/constraints.txt
WORKERS ?= 2

# System packages: text corpora (fortunes), fonts (Latin, CJK) for text pages and charts, and WordNet 3.0
# (wordnet-base) for METEOR's synonym matching in `gotforge eval` (NLTK cannot download it here).
APT_PACKAGES := fortunes fortunes-zh fonts-noto-cjk fonts-noto-core fonts-liberation2 fonts-dejavu-core \
	fonts-freefont-ttf fonts-urw-base35 fonts-crosextra-carlito fonts-crosextra-caladea \
	fonts-linuxlibertine fonts-wqy-zenhei fonts-arphic-uming fontconfig wordnet-base

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup apt demo test bench lint clean

setup: apt $(VENV)/.installed

# Idempotent: dpkg answers in milliseconds when everything is there; apt-get runs only otherwise.
apt:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
		echo "installing system packages: $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; }

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@

demo: setup
	$(PY) -m pipelines.cli render --config configs/render/demo.yaml --workers $(WORKERS)
	$(PY) -m pipelines.cli preview runs/demo/shards --out runs/demo/preview.html

test: setup
	$(PY) -m pytest -q tests

bench: setup
	$(PY) -m pipelines.cli bench

lint: setup
	$(VENV)/bin/ruff check renderers corpora got_model pipelines tests

clean:
	rm -rf runs .pytest_cache
