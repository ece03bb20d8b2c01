"""rectification: the corrections of an open request, and the keyed hashes of replaced addresses

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", sa.JSON(), nullable=True))
    op.create_table(
        "rectified_addresses",
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("pseudonym"),
    )


def downgrade() -> None:
    op.drop_table("rectified_addresses")
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.drop_column("changes")
