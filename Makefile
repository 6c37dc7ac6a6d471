# The officer's commands. Each one only calls the CLI (python -m pipeline ...).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install test demo matrix units obligations templates ingest history
.PHONY: distribute send-feedback send-reminders collect
.PHONY: audit audit-history
.PHONY: semiannual annual
.PHONY: bench

help:
	@echo "make demo                          the whole pipeline on demo data, in outputs/demo/ (never touches inputs/)"
	@echo "make test                          install what is missing and run the tests"
	@echo "make matrix                        the assignment matrix with leads and partners resolved"
	@echo "make units                         the reporting units"
	@echo "make obligations PERIOD=2026S1     who reports on which task in a period"
	@echo "make templates PERIOD=2026S1       blank templates for every unit, in outputs/templates/2026S1/"
	@echo "make ingest PERIOD=2026S1          read, check and record the files in inputs/submissions/2026S1/"
	@echo "make history PERIOD=2026S1 UNIT=ID the versions a unit sent and what changed between them"
	@echo "make distribute PERIOD=2026S1      email each unit its template: a dry run into outputs/mail/; SEND=1 sends"
	@echo "make send-feedback PERIOD=2026S1   email each unit its feedback workbook (SEND=1 sends)"
	@echo "make send-reminders PERIOD=2026S1  email the audit's reminder letter to the units it addresses (SEND=1 sends)"
	@echo "make collect PERIOD=2026S1         save the spreadsheets units emailed into inputs/submissions/2026S1/"
	@echo "make audit PERIOD=2026S1           who is on time, late, missing, rejected; the reminder letter (AS_OF=, NEW_DEADLINE=)"
	@echo "make audit-history                 units x periods grid over every period in the ledger, and its HTML page"
	@echo "make semiannual PERIOD=2026S1      ingest what is new, then the semi-annual report (Word, Excel, HTML) in outputs/2026S1/ (FORCE=1: a draft below min_completeness)"
	@echo "make annual YEAR=2026              ingest what is new, then the annual report in outputs/2026/ (AS_OF= for both)"
	@echo "make bench                         every stage timed, Lai Châu and the whole country, beside a naive pipeline"

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

# Mail (README, "Mail"): without SEND=1 the messages are only written as .eml files to check first.
MAIL_FLAGS = $(if $(SEND),--send) $(if $(RESEND),--resend) $(if $(UNIT),--unit $(UNIT))

distribute: $(STAMP)
	$(PY) -m pipeline distribute --period $(PERIOD) $(MAIL_FLAGS)

send-feedback: $(STAMP)
	$(PY) -m pipeline send-feedback --period $(PERIOD) $(MAIL_FLAGS)

send-reminders: $(STAMP)
	$(PY) -m pipeline send-reminders --period $(PERIOD) $(foreach u,$(UNITS),--unit $(u)) $(MAIL_FLAGS)

collect: $(STAMP)
	$(PY) -m pipeline collect --period $(PERIOD) $(if $(SINCE),--since $(SINCE))

# Audit (README, "Audit"): AS_OF=2026-06-20 replays a day, NEW_DEADLINE=2026-06-26 sets the letter's new deadline.
audit: $(STAMP)
	$(PY) -m pipeline audit $(if $(PERIOD),--period $(PERIOD)) $(if $(AS_OF),--as-of $(AS_OF)) $(if $(NEW_DEADLINE),--new-deadline $(NEW_DEADLINE)) $(if $(HISTORY),--history)

audit-history: $(STAMP)
	$(PY) -m pipeline audit --history $(if $(AS_OF),--as-of $(AS_OF))

semiannual: $(STAMP)
	$(PY) -m pipeline semiannual --period $(PERIOD) $(if $(AS_OF),--as-of $(AS_OF)) $(if $(FORCE),--force)

annual: $(STAMP)
	$(PY) -m pipeline annual --year $(YEAR) $(if $(AS_OF),--as-of $(AS_OF)) $(if $(FORCE),--force)

demo: $(STAMP)
	$(PY) -m pipeline demo

# Benchmark (README, "Benchmarks"): builds the national synthetic set once under outputs/bench/.
bench: $(STAMP)
	$(PY) -m bench.run $(if $(PROVINCE_ONLY),--province-only)
