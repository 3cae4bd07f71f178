# The two commands of the README's quick start: `make render ENV=prod` and `make test`.
# Each creates .venv/ when needed and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ENV    ?= prod

.PHONY: render render-all list test clean

$(VENV)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

render: $(VENV)/.installed-run ## Render out/$(ENV)
	$(BIN)/tfgen render $(ENV)

render-all: $(VENV)/.installed-run ## Render every environment
	$(BIN)/tfgen render --all

list: $(VENV)/.installed-run
	$(BIN)/tfgen list

test: $(VENV)/.installed-test ## The whole suite, terraform included
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .tfgen .pytest_cache
