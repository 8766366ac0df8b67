"""phones and emails encrypted at rest

Revision ID: fb74f98dc4ef
Revises: 97f17e96a92b
Create Date: 2026-11-23 16:34:16.506182

The columns become TEXT (ciphertext is longer than a phone) and every existing value is
encrypted with the service's data key, loaded exactly as its bootstrap loads it; units get
the keyed hash their phone logins look up.
"""
from alembic import op
import sqlalchemy as sa

from shared.config import load_settings
from shared.crypto import FieldCipher, load_key

revision = 'fb74f98dc4ef'
down_revision = '97f17e96a92b'
branch_labels = None
depends_on = None

ENCRYPTED = {  # table -> (key column, encrypted columns)
    "units": ("id", ("contact_phone", "contact_email")),
    "previous_units": ("id", ("contact_phone", "contact_email")),
    "personnel": ("id", ("mobile", "email")),
    "delivery_addresses": ("id", ("phone",)),
}


def _cipher() -> FieldCipher:
    settings = load_settings("registration")
    return FieldCipher(load_key(settings.get("DATA_KEY"), settings.data_dir / "keys" / "registration.key"))


def upgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_phone_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_units_contact_phone_hash'), ['contact_phone_hash'], unique=False)
    for table, (_, columns) in ENCRYPTED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, type_=sa.Text())
    conn = op.get_bind()
    rows = {table: conn.execute(sa.text(f"SELECT {key}, {', '.join(cols)} FROM {table}")).fetchall()
            for table, (key, cols) in ENCRYPTED.items()}
    if not any(rows.values()):
        return  # a new database: nothing to encrypt, and no key needed yet
    cipher = _cipher()
    for table, (key, columns) in ENCRYPTED.items():
        for row in rows[table]:
            values = {c: (cipher.encrypt(v) if v is not None and not str(v).startswith("v1:") else v)
                      for c, v in zip(columns, row[1:])}
            if table == "units" and row[1] is not None and not str(row[1]).startswith("v1:"):
                values["contact_phone_hash"] = cipher.lookup_hash(row[1])
            assignments = ", ".join(f"{c} = :{c}" for c in values)
            conn.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE {key} = :key"), {**values, "key": row[0]})


def downgrade() -> None:
    conn = op.get_bind()
    cipher = _cipher()
    for table, (key, columns) in ENCRYPTED.items():
        for row in conn.execute(sa.text(f"SELECT {key}, {', '.join(columns)} FROM {table}")).fetchall():
            values = {c: (cipher.decrypt(v) if v is not None and str(v).startswith("v1:") else v)
                      for c, v in zip(columns, row[1:])}
            assignments = ", ".join(f"{c} = :{c}" for c in values)
            conn.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE {key} = :key"), {**values, "key": row[0]})
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_contact_phone_hash'))
        batch_op.drop_column('contact_phone_hash')
