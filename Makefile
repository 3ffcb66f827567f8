# Two commands a new user needs: `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
RUN := $(CURDIR)/.run

# Keep napari's settings and caches inside this checkout: napari persists them
# per environment and they would leak from one run into the next.
export NAPARI_CONFIG := $(RUN)/napari/settings.yaml
export XDG_CONFIG_HOME := $(RUN)/config
export XDG_CACHE_HOME := $(RUN)/cache
export PIP_DISABLE_PIP_VERSION_CHECK := 1

XVFB := xvfb-run -a -s "-screen 0 1920x1080x24"

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

# Each step says what it does and about how long it takes; pip lists what it
# fetches, so the first install (a few minutes) is not silent.
$(VENV)/.installed: pyproject.toml
	@echo "==> Checking the system packages Qt, OpenGL and Xvfb need"
	@bash scripts/system-deps.sh
	@test -x $(PY) || { echo "==> Creating the virtual environment $(VENV) (a few seconds)"; \
		$$(bash scripts/find-python.sh) -m venv $(VENV); }
	@echo "==> Updating pip (a few seconds)"
	@$(PY) -m pip install -q --upgrade pip
	@echo "==> Installing napari-progressive and its dependencies (about 2 minutes the first time)"
	$(PY) -m pip install -e '.[dev]'
	@echo "==> Installed into $(VENV)"
	@touch $@

# Opens napari on the 18-level Mandelbrot. Without a display it renders on a
# virtual one, saves a screenshot and exits.
demo: setup
	@mkdir -p $(RUN)
	@if [ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
		$(VENV)/bin/napari-progressive demo mandelbrot $(DEMO_ARGS); \
	else \
		echo "No display found: rendering the demo on a virtual display to $(RUN)/demo.png"; \
		$(XVFB) $(VENV)/bin/napari-progressive demo mandelbrot --screenshot $(RUN)/demo.png $(DEMO_ARGS); \
	fi

lint: setup
	$(PY) -m ruff check src tests examples
	$(PY) -m ruff format --check src tests examples
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/npe2 validate napari-progressive

test: lint
	@mkdir -p $(RUN)
	$(XVFB) $(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(RUN) .pytest_cache .mypy_cache .ruff_cache

# Side-by-side benchmark (napari multiscale sync/async vs progressive); writes
# .run/bench.json, .run/bench.md and .run/bench.png. BENCH_ARGS="--quick" for a short run.
bench: setup
	@mkdir -p $(RUN)
	$(XVFB) $(VENV)/bin/napari-progressive bench $(BENCH_ARGS) --json $(RUN)/bench.json --markdown $(RUN)/bench.md --plot $(RUN)/bench.png
