# The officer's commands. Each one only calls the CLI (python -m pipeline ...).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install test matrix units obligations templates

help:
	@echo "make test                          install what is missing and run the tests"
	@echo "make matrix                        the assignment matrix with leads and partners resolved"
	@echo "make units                         the reporting units"
	@echo "make obligations PERIOD=2026S1     who reports on which task in a period"
	@echo "make templates PERIOD=2026S1       blank templates for every unit, in outputs/templates/2026S1/"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	bash scripts/ensure_system_packages.sh
	$(PY) -m pytest

matrix: $(STAMP)
	$(PY) -m pipeline matrix

units: $(STAMP)
	$(PY) -m pipeline units

obligations: $(STAMP)
	$(PY) -m pipeline obligations --period $(PERIOD) $(if $(UNIT),--unit $(UNIT))

templates: $(STAMP)
	$(PY) -m pipeline templates --period $(PERIOD) $(if $(UNIT),--unit $(UNIT))
