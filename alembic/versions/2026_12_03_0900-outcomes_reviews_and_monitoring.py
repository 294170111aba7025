"""outcomes and analyst reviews of decisions; per-day monitoring counts of each version's live
traffic (feature, score and decision bins) and the alerts raised from them; challenger versions
scored in shadow and their scores

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outcomes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('model_id', sa.String(length=36), nullable=False),
    sa.Column('model_version', sa.Integer(), nullable=False),
    sa.Column('probability_block', sa.Double(), nullable=False),
    sa.Column('threshold', sa.Double(), nullable=False),
    sa.Column('decided_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_day', sa.Integer(), nullable=False),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('recorded_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('days_late', sa.Integer(), nullable=True),
    sa.Column('defaulted', sa.Boolean(), nullable=True),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_outcomes_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcomes')),
    sa.UniqueConstraint('company_id', 'order_id', 'recorded_at',
                        name=op.f('uq_outcomes_company_id_order_id_recorded_at'))
    )
    op.create_index('ix_outcomes_decision_id', 'outcomes', ['decision_id'], unique=False)
    op.create_index('ix_outcomes_company_id_model_id_decided_day', 'outcomes',
                    ['company_id', 'model_id', 'decided_day'], unique=False)
    op.create_table('decision_reviews',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('model_id', sa.String(length=36), nullable=False),
    sa.Column('decided_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('original', sa.String(length=8), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('overrides', sa.Boolean(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                            name=op.f('fk_decision_reviews_company_id_companies')),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'],
                            name=op.f('fk_decision_reviews_decision_id_decisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_reviews'))
    )
    op.create_index('ix_decision_reviews_decision_id', 'decision_reviews', ['decision_id'], unique=False)
    op.create_index('ix_decision_reviews_company_id_model_id_decided_at', 'decision_reviews',
                    ['company_id', 'model_id', 'decided_at'], unique=False)
    op.create_table('monitoring_counts',
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('model_id', sa.String(length=36), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('feature', sa.String(length=64), nullable=False),
    sa.Column('bin_index', sa.Integer(), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('company_id', 'model_id', 'decided_on', 'feature', 'bin_index',
                            name=op.f('pk_monitoring_counts'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('model_id', sa.String(length=36), nullable=False),
    sa.Column('model_version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('feature', sa.String(length=64), nullable=True),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('threshold', sa.Double(), nullable=False),
    sa.Column('raised_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', app.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_alerts_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    op.create_index('ix_alerts_company_id_raised_at', 'alerts', ['company_id', 'raised_at', 'id'], unique=False)
    op.create_index('ix_alerts_cleared_at', 'alerts', ['cleared_at'], unique=False)
    op.create_table('shadow_versions',
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('model_id', sa.String(length=36), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                            name=op.f('fk_shadow_versions_company_id_companies')),
    sa.ForeignKeyConstraint(['model_id'], ['model_versions.id'],
                            name=op.f('fk_shadow_versions_model_id_model_versions')),
    sa.PrimaryKeyConstraint('company_id', 'model_id', name=op.f('pk_shadow_versions'))
    )
    op.create_table('shadow_scores',
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('model_id', sa.String(length=36), nullable=False),
    sa.Column('company_id', sa.String(length=36), nullable=False),
    sa.Column('model_version', sa.Integer(), nullable=False),
    sa.Column('probability_block', sa.Double(), nullable=False),
    sa.Column('threshold', sa.Double(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('created_at', app.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('decision_id', 'model_id', name=op.f('pk_shadow_scores'))
    )


def downgrade() -> None:
    op.drop_table('shadow_scores')
    op.drop_table('shadow_versions')
    op.drop_index('ix_alerts_cleared_at', table_name='alerts')
    op.drop_index('ix_alerts_company_id_raised_at', table_name='alerts')
    op.drop_table('alerts')
    op.drop_table('monitoring_counts')
    op.drop_index('ix_decision_reviews_company_id_model_id_decided_at', table_name='decision_reviews')
    op.drop_index('ix_decision_reviews_decision_id', table_name='decision_reviews')
    op.drop_table('decision_reviews')
    op.drop_index('ix_outcomes_company_id_model_id_decided_day', table_name='outcomes')
    op.drop_index('ix_outcomes_decision_id', table_name='outcomes')
    op.drop_table('outcomes')
