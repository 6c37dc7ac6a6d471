"""Reference data, loaded once per run: the settings, the reporting units, the assignment matrix,
the indicator catalogue, the reporting periods and who owes what in each (`Project` holds them)."""
