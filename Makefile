# gotforge: every target does its own set-up. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS ?= configs/constraints.txt
WORKERS ?= 2

# System packages: text corpora (fortunes in every language Debian has them), fonts (Latin, CJK, Noto for
# the other scripts, handwriting and Kai faces) for text pages and charts, FriBiDi (Pillow's libraqm loads
# it to lay out right-to-left text), and WordNet 3.0 (wordnet-base) for METEOR's synonym matching in
# `gotforge eval` (NLTK cannot download it here).
APT_PACKAGES := fortunes fortunes-zh fortunes-ru fortunes-de fortunes-es fortunes-it fortunes-pl fortunes-cs \
	fortunes-bg fortunes-eo fortunes-ga fortunes-br \
	fonts-noto-cjk fonts-noto-core fonts-liberation2 fonts-dejavu-core \
	fonts-freefont-ttf fonts-urw-base35 fonts-crosextra-carlito fonts-crosextra-caladea \
	fonts-linuxlibertine fonts-wqy-zenhei fonts-arphic-uming fontconfig wordnet-base libfribidi0 \
	fonts-dkg-handwriting fonts-comic-neue fonts-kristi fonts-dancingscript fonts-kaushanscript \
	fonts-ecolier-court fonts-humor-sans fonts-femkeklaver fonts-breip fonts-lxgw-wenkai fonts-arphic-ukai \
	chromium chromium-headless-shell \
	texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures texlive-xetex \
	texlive-lang-chinese lmodern
# Chromium (browser renderers) comes from Debian and is driven by Playwright through executable_path (the
# headless shell draws under begin-frame control, ~1.25x faster; chromium is the fallback);
# TeX Live (LaTeX tables, TikZ) with XeLaTeX + xeCJK for Chinese. JavaScript libraries: renderers/backends/js.
JS := renderers/backends/js

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup apt node demo learn learn-stages test fuzz bench lint clean

setup: apt $(VENV)/.installed $(JS)/node_modules/.installed

# Idempotent: dpkg answers in milliseconds when everything is there; apt-get runs only otherwise.
apt:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
		echo "installing system packages: $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; }

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e '.[dev,ray]'
	@touch $@

# Node.js and npm: the machine's own when present (a newer npm than Debian's), else Debian's.
node:
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }

# npm ci installs exactly the committed lock file; nothing is fetched at run time.
$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json | node
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The demo: a preview of every renderer, then got-tiny trained from scratch on the CPU (8 CPU-minutes)
# on 1-2-word text-page lines and evaluated on held-out lines it never trained on (runs/demo/eval.json).
DEMO := runs/demo
# A character-level vocabulary (gotforge tokenizer --char-level): at equal CPU time the tiny reader
# spells unseen words better with it than with 400 BPE merges (README, "Training GOT").
TOKENIZER ?= --char-level

demo: setup
	$(PY) -m pipelines.cli render --config configs/render/demo.yaml --workers $(WORKERS)
	$(PY) -m pipelines.cli preview runs/demo/shards --out runs/demo/preview.html
	$(PY) -m pipelines.cli render --config configs/render/tiny-lines.yaml --out $(DEMO)/lines --workers $(WORKERS)
	$(PY) -m pipelines.cli render --config configs/render/tiny-lines-heldout.yaml --out $(DEMO)/heldout --workers $(WORKERS)
	$(PY) -m pipelines.cli tokenizer --shards '$(DEMO)/lines/text-page/*.tar' $(TOKENIZER) --out $(DEMO)/tokenizer
	rm -rf $(DEMO)/checkpoints $(DEMO)/final $(DEMO)/tensorboard $(DEMO)/curve.json
	$(PY) -m pipelines.cli train --config configs/train/tiny-demo.yaml
	$(PY) -m pipelines.cli eval --checkpoint $(DEMO)/final --shards '$(DEMO)/heldout/text-page/*.tar' --train-shards '$(DEMO)/lines/text-page/*.tar' --samples 200 --out $(DEMO)/eval.json

# The learning benchmark: the demo's recipe for up to 60 CPU-minutes; the curve goes to runs/learn/curve.json.
LEARN := runs/learn

learn: setup
	$(PY) -m pipelines.cli render --config configs/render/tiny-lines-learn.yaml --out $(LEARN)/lines --workers $(WORKERS)
	$(PY) -m pipelines.cli render --config configs/render/tiny-lines-heldout.yaml --out $(LEARN)/heldout --workers $(WORKERS)
	$(PY) -m pipelines.cli tokenizer --shards '$(LEARN)/lines/text-page/*.tar' $(TOKENIZER) --out $(LEARN)/tokenizer
	rm -rf $(LEARN)/checkpoints $(LEARN)/final $(LEARN)/tensorboard $(LEARN)/curve.json
	$(PY) -m pipelines.cli train --config configs/train/tiny-learn.yaml
	$(PY) -m pipelines.cli eval --checkpoint $(LEARN)/final --shards '$(LEARN)/heldout/text-page/*.tar' --train-shards '$(LEARN)/lines/text-page/*.tar' --samples 200 --out $(LEARN)/eval.json
	@$(PY) -c "import json; [print(p) for p in json.load(open('$(LEARN)/curve.json'))]"

# GOT's three training stages chained at CPU size (pipelines/train/stages.py): stage 1 on a renderer mix,
# stage 2 with and without stage 1's encoder, stage 3 (encoder frozen) on box- and colour-guided pages;
# the figures go to runs/stages/stages.json.
learn-stages: setup
	$(PY) -m pipelines.cli learn-stages --out runs/stages --workers $(WORKERS)

test: setup
	$(PY) -m pytest -q tests

# Hostile input on every renderer (tests/fuzz): the hand-picked cases and FUZZ_EXAMPLES generated items
# each, through the real engine; prints the per-renderer table and fails on a crash, hang or unfaithful pair.
FUZZ_EXAMPLES ?= 300

fuzz: setup
	$(PY) -m tests.fuzz.report --examples $(FUZZ_EXAMPLES)

bench: setup
	$(PY) -m pipelines.cli bench

lint: setup
	$(VENV)/bin/ruff check renderers corpora got_model pipelines tests

clean:
	rm -rf runs .pytest_cache
