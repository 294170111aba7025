"""Database layer: engine, tables, queries. Importing it registers every table."""

from app.db import audit, companies, datasets, records  # noqa: F401
