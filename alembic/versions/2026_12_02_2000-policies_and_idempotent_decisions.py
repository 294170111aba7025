"""credit policies (versioned, one active per company); decisions record who decided under which
policy, the digest of their request and the decision they supersede

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_policies_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policies')),
    sa.UniqueConstraint('company_id', 'version', name=op.f('uq_policies_company_id_version'))
    )
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_policy_id', sa.String(length=36), nullable=True))
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_by', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('policy_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('request_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('supersedes', sa.String(length=36), nullable=True))
        batch_op.create_index('ix_decisions_company_id_order_id', ['company_id', 'order_id', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_company_id_order_id')
        batch_op.drop_column('supersedes')
        batch_op.drop_column('request_digest')
        batch_op.drop_column('policy_version')
        batch_op.drop_column('decided_by')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('active_policy_id')
    op.drop_table('policies')
