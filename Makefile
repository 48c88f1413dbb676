# Everything a fresh machine needs: Python 3 with venv and pip, and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench wheel clean

$(BIN)/python:
	@echo "Creating the virtual environment $(VENV) and upgrading its pip..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the demo writes a report with plots: the plot extra
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "Installing mixed_models (editable) with the plot extra into $(VENV): numpy, scipy,"
	@echo "pandas, formulaic, nlopt, narwhals, matplotlib... (a few minutes the first time)"
	$(BIN)/python -m pip install --quiet -e '.[plot]'
	touch $@

# the plot, report and docs tests need matplotlib: the plot extra too
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "Installing mixed_models (editable) with the test and plot extras into $(VENV):"
	@echo "the dependencies plus pytest, hypothesis, polars, pyarrow, numba, build, matplotlib..."
	$(BIN)/python -m pip install --quiet -e '.[test,plot]'
	@echo "Compiling the numba kernels for small models (once, under a minute)..."
	$(BIN)/python -c "import mixed_models; mixed_models.compile_kernels()"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/mixed-models demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# make bench: the benchmark cases with mixed_models and, in the same run, lme4 (Rscript, when
# R and lme4 are installed), mixedlm and statsmodels; the peers live in .venv-bench
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml
	@echo "Creating $(BENCH_VENV) with mixed_models and the peers it is compared with"
	@echo "(statsmodels, mixedlm, numba, pyarrow)..."
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[bench]'
	$(BENCH_VENV)/bin/python -c "import mixed_models; mixed_models.compile_kernels()"
	touch $@

bench: $(BENCH_VENV)/.installed
	cd benchmarks && ../$(BENCH_VENV)/bin/python run.py $(BENCH_ARGS)

# make wheel: dist/mixed_models-*.whl (and the sdist), built in an isolated environment
wheel: | $(BIN)/python
	@echo "Building the wheel and the source distribution into dist/ (installs build)..."
	$(BIN)/python -m pip install --quiet build
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) $(BENCH_VENV) build dist src/*.egg-info .pytest_cache
