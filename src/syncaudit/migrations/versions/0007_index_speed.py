"""index speed: drop ix_records_item, a prefix of uq_record that nothing needs on its own

Every look-up by (system, stream, external_id) is served by the unique constraint's index, whose
leading columns are the same; the second copy only cost a B-tree insert per record written.

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


def downgrade() -> None:
    op.create_index("ix_records_item", "records", ["system", "stream", "external_id"])
