PYTHON ?= python3

# A project virtual environment (.venv) unless one is already active: Debian and Ubuntu refuse
# `pip install` into the system Python (PEP 668, "externally-managed-environment").
ifdef VIRTUAL_ENV
PY := $(VIRTUAL_ENV)/bin/python
STAMP := $(VIRTUAL_ENV)/.ilat-video-installed
else
PY := .venv/bin/python
STAMP := .venv/.installed
endif

.PHONY: install chromium test demo demo-model readme-picture

.venv/bin/python:
	$(PYTHON) -m venv .venv

# torch is pinned to 2.13.0 in pyproject.toml: the CPU build; an unpinned torch pulls a CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test,app,browser-test]"
	@touch $(STAMP)

install: $(STAMP) chromium

# The web page's browser tests (tests/test_serve.py) drive Debian's chromium through playwright:
# `playwright install` downloads browsers from elsewhere and does not work here. Installed when
# missing and we are root; otherwise those tests skip, and fail under CI=1 (.ci/run).
chromium:
	@command -v chromium >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "chromium is missing and cannot be installed (not root, or no apt-get): the browser tests will skip"; \
	fi

test: $(STAMP)
	$(PY) -m pytest -q

# The main job on the example inputs: a real photo animated with a real video.
demo: $(STAMP)
	@mkdir -p out
	$(PY) -m ilat_video animate examples/photo.jpg examples/dance.mp4 --side-by-side -o out/demo.mp4
	@echo "open out/demo.mp4 (reference | driving | result)"

# The README's opening picture (docs/readme.jpg) from the same job.
readme-picture: $(STAMP)
	$(PY) scripts/readme_picture.py

# Retrain the demo model (resumable; see models/demo/README.md).
demo-model: $(STAMP)
	PATH="$(abspath $(dir $(PY))):$$PATH" scripts/train_demo.sh runs/demo
