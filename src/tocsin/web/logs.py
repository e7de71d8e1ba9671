"""Access logs: without query strings (tickets and cursors in URLs never reach a log file),
and written in batches, so a busy node spends no system call per request on its log."""

from __future__ import annotations

import logging
import threading
from typing import TextIO

FLUSH_SECONDS = 0.05


class RedactQuery(logging.Filter):
    """Cuts the query string off the path in uvicorn's access log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, _ = args[2].partition("?")
            if sep:
                record.args = (*args[:2], f"{path}?[redacted]", *args[3:])
        return True


class BatchedStreamHandler(logging.StreamHandler[TextIO]):
    """A StreamHandler whose lines reach the stream's buffer at once and the file at most
    ``FLUSH_SECONDS`` later, in one write for all the lines of that moment."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._timer: threading.Timer | None = None

    def flush(self) -> None:
        """Called after every record: flush soon, not now."""
        with self.lock:  # type: ignore[union-attr]
            if self._timer is None:
                self._timer = threading.Timer(FLUSH_SECONDS, self._flush_now)
                self._timer.daemon = True
                self._timer.start()

    def _flush_now(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._timer = None
            super().flush()

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        super().flush()
        super().close()


def prepare_access_log() -> None:
    """Redact query strings and batch the writes of uvicorn's access logger (idempotent)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactQuery) for existing in logger.filters):
        logger.addFilter(RedactQuery())
    for index, handler in enumerate(list(logger.handlers)):
        if type(handler) is logging.StreamHandler:
            batched = BatchedStreamHandler(handler.stream)
            batched.setFormatter(handler.formatter)
            batched.setLevel(handler.level)
            logger.handlers[index] = batched
