"""evaluations keep their scored orders (the curves of their report page)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the evaluations run before: their report answers 409 (evaluate the version again).
    with op.batch_alter_table('model_evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scores', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('model_evaluations', schema=None) as batch_op:
        batch_op.drop_column('scores')
