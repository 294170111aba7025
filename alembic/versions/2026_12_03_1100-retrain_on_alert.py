"""companies.retrain_on_alert: queue a retraining when a monitoring alert is raised (off by default)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retrain_on_alert', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        # SQL Server names the default constraint itself: drop it with the column
        batch_op.drop_column('retrain_on_alert', mssql_drop_default=True)
