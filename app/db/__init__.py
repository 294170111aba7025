"""Database layer: engine, tables, queries. Importing it registers every table."""

from app.db import (  # noqa: F401
    audit,
    companies,
    datasets,
    decisions,
    model_versions,
    monitoring,
    outcomes,
    policies,
    records,
    shadow,
    training_jobs,
)
