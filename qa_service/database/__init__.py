"""The service's own state (conversations, feedback, Slack event ids, jobs, positions and
events) in one SQL database: SQLite under index_dir by default, PostgreSQL when
QA_DATABASE_URL is set, so any replica can serve any request."""

from qa_service.database.engine import database_url, open_database, ping, write_transaction, writer_lock

__all__ = ["database_url", "open_database", "ping", "write_transaction", "writer_lock"]
