"""The service's state: conversations, Slack feedback, Slack event ids, upload jobs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("title", sa.Text()),
    )
    op.create_index("ix_conversations_updated", "conversations", ["updated"])
    op.create_table(
        "conversation_turns",
        sa.Column("conversation_id", sa.Text(), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("extra", sa.Text()),
    )
    op.create_table(
        "conversation_answers",
        sa.Column("conversation_id", sa.Text(), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_table(
        "feedback_answers",
        sa.Column("answer_id", sa.Text(), primary_key=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("citations", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text()),
        sa.Column("thread_ts", sa.Text()),
        sa.Column("user", sa.Text()),
    )
    op.create_table(
        "feedback_ratings",
        sa.Column("answer_id", sa.Text(), sa.ForeignKey("feedback_answers.answer_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user", sa.Text(), primary_key=True),
        sa.Column("rating", sa.Text(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.CheckConstraint("rating IN ('helpful', 'not_helpful')", name="ck_feedback_ratings_rating"),
    )
    op.create_index("ix_feedback_ratings_created", "feedback_ratings", ["created"])
    op.create_table(
        "seen_events",
        sa.Column("event_id", sa.Text(), primary_key=True),
        sa.Column("seen", sa.Float(), nullable=False),
    )
    op.create_index("ix_seen_events_seen", "seen_events", ["seen"])
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.Text(), primary_key=True),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("replace", sa.Boolean(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("started", sa.Float()),
        sa.Column("finished", sa.Float()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("articles_done", sa.Integer(), nullable=False),
        sa.Column("articles_total", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("heartbeat", sa.Float(), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_status"),
    )
    op.create_index("ix_jobs_created", "jobs", ["created"])


def downgrade() -> None:
    for index, table in (("ix_jobs_created", "jobs"), ("ix_seen_events_seen", "seen_events"),
                         ("ix_feedback_ratings_created", "feedback_ratings"),
                         ("ix_conversations_updated", "conversations")):
        op.drop_index(index, table_name=table)
    for table in ("jobs", "seen_events", "feedback_ratings", "feedback_answers", "conversation_answers",
                  "conversation_turns", "conversations"):
        op.drop_table(table)
