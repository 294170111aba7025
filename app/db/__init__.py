"""Database layer: engine, tables, queries. Importing it registers every table."""

from app.db import audit, companies, datasets, decisions, models, records  # noqa: F401
