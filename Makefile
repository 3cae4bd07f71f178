# The two commands of the README's quick start: `make render ENV=prod` and `make test`.
# Each creates the virtual environments it needs and installs into them first.
PYTHON       ?= python3
VENV         := .venv
BIN          := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
ENV          ?= prod

.PHONY: render render-all list check checkov demo bench test clean

$(VENV)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# checkov in its own environment, at the version pinned in pyproject.toml ([tool.tfgen]):
# its bc-python-hcl2 clashes with other HCL packages in one environment.
$(CHECKOV_VENV)/.installed: pyproject.toml $(VENV)/.installed-run
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  "$$($(BIN)/python -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["tool"]["tfgen"]["checkov"])')"
	touch $@

# Each render also writes .tfgen/terraform.rc, the CLI config that lets `terraform init` install
# hashicorp/aws from the local provider mirror, offline (or says that no mirror was found).
render: $(VENV)/.installed-run ## Render out/$(ENV)
	$(BIN)/tfgen render $(ENV)
	$(BIN)/tfgen terraform-rc --write .tfgen/terraform.rc

render-all: $(VENV)/.installed-run ## Render every environment
	$(BIN)/tfgen render --all
	$(BIN)/tfgen terraform-rc --write .tfgen/terraform.rc

list: $(VENV)/.installed-run
	$(BIN)/tfgen list

checkov: $(CHECKOV_VENV)/.installed

check: $(VENV)/.installed-run $(CHECKOV_VENV)/.installed ## The policy gate on out/$(ENV)
	$(BIN)/tfgen check $(ENV)

demo: $(VENV)/.installed-test ## The whole lifecycle against the AWS emulator, no account needed
	$(BIN)/python -m sandbox.demo

bench: $(VENV)/.installed-test $(CHECKOV_VENV)/.installed ## Benchmarks at 10, 100, 1,000 projects: docs/benchmarks.md
	$(BIN)/python -m benchmarks.run

test: $(VENV)/.installed-test $(CHECKOV_VENV)/.installed ## The whole suite, terraform and checkov included
	$(BIN)/python -m pytest -n auto --dist loadfile

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .tfgen .pytest_cache
