"""Shared plumbing every stage uses: atomic writes, text cleaning, errors, the province's clock,
CSV reading, safe spreadsheet cells, Vietnamese formatting and spreadsheet file types."""
