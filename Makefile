# Everything a fresh machine needs: Python 3 with venv and pip, and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the demo writes a report with plots: the plot extra
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[plot]'
	touch $@

# the plot, report and docs tests need matplotlib: the plot extra too
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,plot]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/mixed-models demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# make bench: the benchmark cases with mixed_models and, in the same run, lme4 (Rscript, when
# R and lme4 are installed), mixedlm and statsmodels; the peers live in .venv-bench
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(BENCH_VENV)/.installed
	cd benchmarks && ../$(BENCH_VENV)/bin/python run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) build src/*.egg-info .pytest_cache
