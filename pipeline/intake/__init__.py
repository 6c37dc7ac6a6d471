"""Intake of the units' files: the register of receipts, reading without trust, validation
against the schemas and consistency rules, ingestion into the ledger, and the feedback workbooks."""
