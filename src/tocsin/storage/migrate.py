"""Schema migrations (Alembic), run at start and by ``tocsin migrate``."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tocsin.errors import StorageError

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL for a Tocsin database URL (psycopg 3 for PostgreSQL)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _run(url: str, action: str, revision: str) -> None:
    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(f"The database cannot be reached: {reason}") from exc
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision`` (blocking; run it in a thread).

    Raises:
        StorageError: the database cannot be reached.
    """
    _run(url, "upgrade", revision)


def downgrade(url: str, revision: str) -> None:
    """Take the schema at ``url`` down to ``revision`` (``base`` removes everything)."""
    _run(url, "downgrade", revision)
