"""PostgreSQL schema migrations (package data)."""
