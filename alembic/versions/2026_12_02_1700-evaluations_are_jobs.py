"""evaluations are queued jobs: status, error, attempts and timings; metrics until they finish

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('model_evaluations', schema=None) as batch_op:
        # Evaluations stored before this revision ran synchronously: they all succeeded.
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='succeeded', nullable=False))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('started_at', app.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('finished_at', app.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column('metrics', existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM model_evaluations WHERE metrics IS NULL")
    with op.batch_alter_table('model_evaluations', schema=None) as batch_op:
        batch_op.alter_column('metrics', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('finished_at')
        batch_op.drop_column('started_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('error')
        batch_op.drop_column('status')
