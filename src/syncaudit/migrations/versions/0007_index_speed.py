"""index speed: drop ix_records_item (a prefix of uq_record); room for HOT updates on PostgreSQL

Every look-up by (system, stream, external_id) is served by the unique constraint's index, whose
leading columns are the same; the second copy only cost a B-tree insert per record written.
Each sync rewrites last_seen / seen_round of every record it sees (columns no index holds); on
PostgreSQL free space in the page lets that be a heap-only update instead of a new entry in
every index (fillfactor applies to pages written from now on).

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02 16:45:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_records_item", table_name="records")  # plain DROP INDEX: no table copy
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE records SET (fillfactor = 80)")
        op.execute("ALTER TABLE subjects SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE records RESET (fillfactor)")
        op.execute("ALTER TABLE subjects RESET (fillfactor)")
    op.create_index("ix_records_item", "records", ["system", "stream", "external_id"])
