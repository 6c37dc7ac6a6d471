"""The ledger (SQLite): the one owner of every table and query, and the period lock."""
