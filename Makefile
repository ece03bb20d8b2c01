# The two commands a newcomer needs: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

SYSDEPS := $(PYTHON) src/syncaudit/sysdeps.py

.PHONY: demo test lint typecheck unit bench clean sysdeps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Names missing operating-system packages in one line with the command that installs them;
# `make test` stops when a required one is missing (the list: src/syncaudit/sysdeps.py). The demo
# writes HTML only, so it names them and goes on.
sysdeps:
	@$(SYSDEPS) check

demo: $(STAMP)
	-@$(SYSDEPS) check
	$(BIN)/syncaudit demo --keep demo-output

lint: $(STAMP)
	$(BIN)/ruff check src connectors tests bench
	$(BIN)/ruff format --check src connectors tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src connectors

unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

test: sysdeps lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-output .mypy_cache .ruff_cache .pytest_cache
