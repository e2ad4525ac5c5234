# Quick start: `make run` opens the app, `make test` runs the whole suite. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_PKG := $(VENV)/.installed-package

.PHONY: run test lint format bench screenshots package package-selftest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/rigfit

test: $(STAMP_TEST)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

lint: $(STAMP_TEST)
	$(BIN)/ruff check advisor ui tests benchmarks packaging
	$(BIN)/ruff format --check advisor ui tests benchmarks packaging

format: $(STAMP_TEST)
	$(BIN)/ruff format advisor ui tests benchmarks packaging
	$(BIN)/ruff check --fix advisor ui tests benchmarks packaging

$(STAMP_PKG): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,package]'
	touch $@ $(STAMP_TEST) $(STAMP_RUN)

# A one-folder bundle for this OS in dist/Rigfit (see docs/packaging.md for Windows and macOS).
package: $(STAMP_PKG)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller packaging/rigfit.spec

# Runs the frozen executable's self-test: window offscreen, probe, plan MiniMax M2.7 from the catalog.
package-selftest: package
	QT_QPA_PLATFORM=offscreen dist/Rigfit/rigfit-debug --self-test

# Renders every wizard page and the main window to docs/screenshots/ (used by the README).
screenshots: $(STAMP_RUN)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m ui.screenshots docs/screenshots

# Benchmarks (measurements, not tests): results are written to docs/accuracy.md and docs/performance.md.
# The memory and local-speed benchmarks load real llama.cpp through llama-cpp-python, which compiles llama.cpp
# (about five minutes) into its own environment, .venv-bench, kept apart from the app's.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . 'llama-cpp-python==0.3.36'
	touch $@

bench: $(STAMP_TEST) $(BENCH_VENV)/.installed
	RIGFIT_BENCH_PYTHON=$(BENCH_VENV)/bin/python $(BIN)/python benchmarks/memory_vs_llamacpp.py
	$(BIN)/python benchmarks/calibrate_fit.py
	$(BIN)/python benchmarks/speed_accuracy.py
	$(BIN)/python benchmarks/download_throughput.py
	$(BIN)/python benchmarks/startup.py --write

clean:
	rm -rf $(VENV) $(BENCH_VENV) build dist .pytest_cache .ruff_cache
