# The two commands a newcomer needs: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/syncaudit demo --keep demo-output

lint: $(STAMP)
	$(BIN)/ruff check src connectors tests bench
	$(BIN)/ruff format --check src connectors tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src connectors

unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-output .mypy_cache .ruff_cache .pytest_cache
