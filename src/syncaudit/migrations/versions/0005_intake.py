"""requester side: requests taken from the intake mailbox, and the letters sent about them

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 16:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "intake_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=512), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("verify_token", sa.String(length=16), nullable=True),
        sa.Column("verified_at", WHEN, nullable=True),
        sa.Column("verified_by", sa.String(length=16), nullable=True),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("extended_at", WHEN, nullable=True),
        sa.Column("statutory_deadline", WHEN, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "message_id", name="uq_intake_message"),
        sa.UniqueConstraint("verify_token"),
    )
    op.create_index("ix_intake_open", "intake_requests", ["state", "pseudonym", "kind"])
    op.create_table(
        "intake_letters",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("intake_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("marker", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("attempted_at", WHEN, nullable=True),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["intake_id"], ["intake_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("intake_id", "kind", name="uq_intake_letter"),
        sa.UniqueConstraint("marker"),
    )
    op.create_index("ix_intake_letters_intake_id", "intake_letters", ["intake_id"])


def downgrade() -> None:
    op.drop_index("ix_intake_letters_intake_id", table_name="intake_letters")
    op.drop_table("intake_letters")
    op.drop_index("ix_intake_open", table_name="intake_requests")
    op.drop_table("intake_requests")
