"""All SQL: the SQLite schema, its migrations, the store and ingest."""
