# The officer's commands. Each one only calls the CLI (python -m pipeline ...).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install test matrix units obligations templates ingest history
.PHONY: audit audit-history

help:
	@echo "make test                          install what is missing and run the tests"
	@echo "make matrix                        the assignment matrix with leads and partners resolved"
	@echo "make units                         the reporting units"
	@echo "make obligations PERIOD=2026S1     who reports on which task in a period"
	@echo "make templates PERIOD=2026S1       blank templates for every unit, in outputs/templates/2026S1/"
	@echo "make ingest PERIOD=2026S1          read, check and record the files in inputs/submissions/2026S1/"
	@echo "make history PERIOD=2026S1 UNIT=ID the versions a unit sent and what changed between them"
	@echo "make audit PERIOD=2026S1           who is on time, late, missing, rejected; the reminder letter (AS_OF=, NEW_DEADLINE=)"
	@echo "make audit-history                 units x periods grid over every period in the ledger, and its HTML page"

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

ingest: $(STAMP)
	$(PY) -m pipeline ingest --period $(PERIOD)

history: $(STAMP)
	$(PY) -m pipeline history --period $(PERIOD) --unit $(UNIT)

# Audit (README, "Audit"): AS_OF=2026-06-20 replays a day, NEW_DEADLINE=2026-06-26 sets the letter's new deadline.
audit: $(STAMP)
	$(PY) -m pipeline audit $(if $(PERIOD),--period $(PERIOD)) $(if $(AS_OF),--as-of $(AS_OF)) $(if $(NEW_DEADLINE),--new-deadline $(NEW_DEADLINE)) $(if $(HISTORY),--history)

audit-history: $(STAMP)
	$(PY) -m pipeline audit --history $(if $(AS_OF),--as-of $(AS_OF))
