"""model versions keep their calibration, the reference percentiles of their training rows and their
scored validation and hold-out slices; training jobs keep their options

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the versions trained before: they score uncalibrated, their reasons compare nothing.
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calibration', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reference', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('validation', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('holdout', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('options', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.drop_column('options')
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_column('holdout')
        batch_op.drop_column('validation')
        batch_op.drop_column('reference')
        batch_op.drop_column('calibration')
