"""Database layer: engine, tables, queries. Importing it registers every table."""

from app.db import audit, companies, datasets, decisions, model_versions, policies, records, training_jobs  # noqa: F401
