"""Storage backends, chosen by URL scheme and imported lazily."""

from __future__ import annotations

from tocsin.storage.base import Storage

__all__ = ["Storage", "open_storage"]


def open_storage(url: str) -> Storage:
    """A storage for ``url`` (not opened yet).

    ``sqlite:///relative/path``, ``sqlite:////absolute/path`` or ``postgresql://...``.

    Raises:
        ValueError: the scheme is not supported.
    """
    if url.startswith("sqlite://"):
        from tocsin.storage.sqlite import SqliteStorage

        return SqliteStorage(url)
    if url.startswith(("postgresql://", "postgres://")):
        from tocsin.storage.postgres import PostgresStorage

        return PostgresStorage(url)
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}")
