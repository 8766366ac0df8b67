"""one issued invoice per order

Revision ID: 3c1d9e27a4b0
Revises: ac9afffb9fa4
Create Date: 2026-12-01 10:00:00

An order had one invoice row for ever (a unique order_id), so a reversed invoice could
never be followed by a new one. Now at most one *issued* invoice per order (a partial
unique index); reversed ones stay on record.
"""
from alembic import op
import sqlalchemy as sa

revision = '3c1d9e27a4b0'
down_revision = 'ac9afffb9fa4'
branch_labels = None
depends_on = None

ISSUED = sa.text("status = 'issued'")


def _order_id_unique_constraint() -> str | None:
    """The name of the old unique constraint on invoices.order_id (PostgreSQL named it; SQLite
    keeps it unnamed)."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("invoices"):
        if constraint["column_names"] == ["order_id"]:
            return constraint["name"] or "uq_invoices_order_id"
    return None


def upgrade() -> None:
    name = _order_id_unique_constraint()
    if name is not None:
        # SQLite copies the table: the naming convention names its unnamed constraint
        with op.batch_alter_table("invoices", naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as batch:
            batch.drop_constraint(name, type_="unique")
    op.create_index("uq_invoices_issued_order", "invoices", ["order_id"], unique=True, postgresql_where=ISSUED,
                    sqlite_where=ISSUED)


def downgrade() -> None:
    op.drop_index("uq_invoices_issued_order", table_name="invoices")
    with op.batch_alter_table("invoices") as batch:
        batch.create_unique_constraint("uq_invoices_order_id", ["order_id"])
