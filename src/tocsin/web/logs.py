"""Access logs: without query strings (tickets and cursors in URLs never reach a log file),
and written in batches, so a busy node spends no system call per request on its log.

Requests answered outside ASGI (publishes, tickets) are logged by :func:`log_request`, which gives
the same line as uvicorn's access logger; when that logger has its default setup it writes
the text straight into the handler, without a LogRecord (the logging machinery costs more
than the rest of answering a publish).
"""

from __future__ import annotations

import http
import logging
import threading
from typing import TextIO

from uvicorn.logging import AccessFormatter

FLUSH_SECONDS = 0.05
ACCESS = '%s - "%s %s HTTP/%s" %d'  # the arguments of uvicorn's access records
UVICORN_ACCESS_FORMAT = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
access_logger = logging.getLogger("uvicorn.access")


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

    def write_line(self, line: str) -> None:
        """Write an already formatted line (as ``emit`` would after formatting)."""
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line + self.terminator)
        self.flush()

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


def log_request(
    client: str, method: str, path: str, status: int, http_version: str = "1.1"
) -> None:
    """One access log line for a request answered outside ASGI."""
    logger = access_logger
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _plain_handler(logger)
    if handler is None:  # a custom setup: a record, for whatever it does with them
        args = (client, method, path, http_version, status)
        logger.handle(logger.makeRecord(logger.name, logging.INFO, "", 0, ACCESS, args, None))
        return
    if "?" in path:
        path = path.partition("?")[0] + "?[redacted]"
    handler.write_line(
        f'INFO:     {client} - "{method} {path} HTTP/{http_version}" {status} {_phrase(status)}'
    )


def _plain_handler(logger: logging.Logger) -> BatchedStreamHandler | None:
    """The logger's only handler if the setup is uvicorn's default (plain text, nothing but
    RedactQuery filtering), so that writing the line directly changes nothing."""
    handlers = logger.handlers
    if len(handlers) != 1 or logger.propagate or logger.disabled:
        return None
    handler = handlers[0]
    formatter = handler.formatter
    if (
        type(handler) is not BatchedStreamHandler
        or handler.filters
        or handler.level > logging.INFO
        or type(formatter) is not AccessFormatter
        or formatter.use_colors
        or formatter._fmt != UVICORN_ACCESS_FORMAT
        or any(type(f) is not RedactQuery for f in logger.filters)
    ):
        return None
    return handler


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def route_tocsin_logs(level: str) -> None:
    """Tocsin's own loggers write through uvicorn's default handler (stderr, uvicorn's
    format), at ``level``; without it their warnings would reach stderr unformatted and their
    information not at all. Call after uvicorn configured logging."""
    tocsin = logging.getLogger("tocsin")
    tocsin.setLevel(level.upper())
    handlers = logging.getLogger("uvicorn").handlers
    if handlers and not tocsin.handlers:
        tocsin.handlers = list(handlers)
        tocsin.propagate = False
