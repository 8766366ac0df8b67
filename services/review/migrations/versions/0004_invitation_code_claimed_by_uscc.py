"""invitation code claimed by uscc

Revision ID: 6b2e8f0d13a7
Revises: d9756af3355d
Create Date: 2026-12-01 12:00:00

The enterprise (USCC) that claimed a CIFTIS invitation code, so that it may claim it again
when its sign-up's answer was lost.
"""
from alembic import op
import sqlalchemy as sa

revision = '6b2e8f0d13a7'
down_revision = 'd9756af3355d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitation_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used_by_uscc', sa.String(length=18), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invitation_codes', schema=None) as batch_op:
        batch_op.drop_column('used_by_uscc')
