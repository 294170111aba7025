"""batch receipts keep a digest of their items; one unfinished training job per dataset

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dataset_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_dataset_id', sa.String(length=36), nullable=True))
    op.execute("UPDATE training_jobs SET active_dataset_id = dataset_id WHERE status IN ('queued', 'running') "
               "AND id IN (SELECT MIN(id) FROM training_jobs WHERE status IN ('queued', 'running') "
               "GROUP BY dataset_id)")
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.create_index('uq_training_jobs_active_dataset_id', ['active_dataset_id'], unique=True,
                              mssql_where=sa.text('active_dataset_id IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_training_jobs_active_dataset_id')
        batch_op.drop_column('active_dataset_id')
    with op.batch_alter_table('dataset_batches', schema=None) as batch_op:
        batch_op.drop_column('digest')
