"""The browser pages (`python -m pipeline serve`): the officer's cycle and each unit's upload page,
a view over the same stages the command line calls (ingest, templates, audit, report)."""
