# Two commands matter: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: run test install index lint format bench browser ocr fixtures clean-store

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ocr

# Debian's Tesseract with its Simplified Chinese model and poppler's pdftoppm/pdftotext: OCR of
# scanned PDF pages (assistant/ocr.py). Nothing is downloaded at run time.
OCR_PKGS := tesseract-ocr tesseract-ocr-chi-sim poppler-utils
ocr:
	@if ! dpkg -s $(OCR_PKGS) >/dev/null 2>&1; then \
		SUDO=""; [ "$$(id -u)" = "0" ] || SUDO="sudo"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(OCR_PKGS) >/dev/null; \
	fi

# Idempotent: unchanged reports are skipped, so this is cheap when the store is current.
index: install
	$(VENV)/bin/assistant ingest

run: index
	$(VENV)/bin/streamlit run ui/app.py --server.address $(HOST) --server.port $(PORT) --server.headless true

# Debian's chromium + chromium-driver for the browser test (never a browser download), and a
# CJK font so Chinese renders in screenshots.
BROWSER_PKGS := chromium chromium-driver fonts-noto-cjk
browser:
	@if ! dpkg -s $(BROWSER_PKGS) >/dev/null 2>&1; then \
		SUDO=""; [ "$$(id -u)" = "0" ] || SUDO="sudo"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BROWSER_PKGS) >/dev/null; \
	fi

# Only to regenerate the committed PDF fixtures (tests/fixtures/pdf/make_fixtures.py): the
# ruled-table pages need a TrueType-outline CJK font, Debian's fonts-wqy-microhei.
FIXTURE_PKGS := fonts-noto-cjk fonts-wqy-microhei
fixtures: install
	@if ! dpkg -s $(FIXTURE_PKGS) >/dev/null 2>&1; then \
		SUDO=""; [ "$$(id -u)" = "0" ] || SUDO="sudo"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(FIXTURE_PKGS) >/dev/null; \
	fi
	$(PY) tests/fixtures/pdf/make_fixtures.py

test: install browser
	$(VENV)/bin/python -m pytest

lint: install
	$(VENV)/bin/ruff check assistant ui tests bench
	$(VENV)/bin/ruff format --check assistant ui tests bench

format: install
	$(VENV)/bin/ruff format assistant ui tests bench
	$(VENV)/bin/ruff check --fix assistant ui tests bench

bench: index
	$(VENV)/bin/python -m bench.run

clean-store:
	rm -rf vectorstore/chroma vectorstore/bm25 vectorstore/*.sqlite3 vectorstore/*.lock
