"""The PostgreSQL backend (see storage.postgres.engine)."""
