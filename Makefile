# The two set-up commands of the README:
#   make demo   install into .venv and run the default policy comparison
#   make test   install into .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REPLICATES ?= 10
WORKERS ?= 2

.PHONY: demo test install lint docs bench clean explore notebooks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,viz,notebooks]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/marketsim compare scenarios/baseline.toml scenarios/aggressive_interdiction.toml \
		scenarios/targeted_deterrence.toml --replicates $(REPLICATES) --workers $(WORKERS) --out out/demo
	@echo "Report: out/demo/report.html (and report.md, figures/)"

test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile

explore: install
	$(BIN)/marketsim explore

notebooks: install
	$(BIN)/jupyter lab notebooks/

lint: install
	$(BIN)/python -m pip install --quiet ruff && $(BIN)/ruff check src tests benchmarks

docs: install
	$(BIN)/python -m marketsim.docgen

bench: install
	$(BIN)/python benchmarks/scaling.py

clean:
	rm -rf out .pytest_cache
