"""refund requested by

Revision ID: 8e2f4b61c7d3
Revises: 3c1d9e27a4b0
Create Date: 2026-12-01 11:00:00

Who asked for a refund: the unit's account, or finance for a unit that can no longer ask
(its delegation deleted it).
"""
from alembic import op
import sqlalchemy as sa

revision = '8e2f4b61c7d3'
down_revision = '3c1d9e27a4b0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('requested_by')
