"""Access log lines are written in batches, in order, and none is lost at close."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

from uvicorn.logging import AccessFormatter

from tocsin.web import logs


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, message, None, None)


def test_lines_reach_the_file_soon_in_one_write_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    with path.open("w", buffering=65536) as stream:
        handler = logs.BatchedStreamHandler(stream)
        for n in range(3):
            handler.handle(record(f"line {n}"))
        assert path.read_text() == ""  # still in the stream's buffer: no write per line
        deadline = time.monotonic() + 5
        while path.read_text() == "" and time.monotonic() < deadline:
            time.sleep(logs.FLUSH_SECONDS / 5)
        assert path.read_text() == "line 0\nline 1\nline 2\n"
        handler.handle(record("last"))
        handler.close()  # at exit: written at once
        assert path.read_text().endswith("line 2\nlast\n")


def test_uvicorn_access_handler_is_replaced_with_the_same_formatter() -> None:
    logger = logging.getLogger("uvicorn.access")
    saved = list(logger.handlers)
    plain = logging.StreamHandler()
    plain.setFormatter(logging.Formatter("%(message)s!"))
    logger.handlers = [plain]
    try:
        logs.prepare_access_log()
        logs.prepare_access_log()  # idempotent
        [handler] = logger.handlers
        assert isinstance(handler, logs.BatchedStreamHandler)
        assert handler.formatter is plain.formatter
        assert sum(isinstance(f, logs.RedactQuery) for f in logger.filters) == 1
    finally:
        logger.handlers = saved


def test_publish_lines_written_directly_are_what_uvicorn_would_write() -> None:
    """log_request skips the LogRecord only when that changes nothing in the output."""
    logger = logs.access_logger
    saved = (list(logger.handlers), list(logger.filters), logger.propagate, logger.level)
    cases = [
        ("127.0.0.1:5000", "POST", "/v1/notifications", 202),
        ("10.0.0.7:41234", "POST", "/v1/notifications/batch?x=secret", 413),
        ("-", "POST", "/v1/notifications", 599),  # no reason phrase
    ]
    try:
        logger.handlers, logger.filters = [], []
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addFilter(logs.RedactQuery())
        outputs = []
        for direct in (True, False):
            stream = io.StringIO()
            handler = logs.BatchedStreamHandler(stream)
            handler.setFormatter(AccessFormatter(fmt=logs.UVICORN_ACCESS_FORMAT, use_colors=False))
            if not direct:
                handler.addFilter(logging.Filter())  # any change to the setup: via logging
            logger.handlers = [handler]
            assert (logs._plain_handler(logger) is handler) is direct
            for case in cases:
                logs.log_request(*case)
            outputs.append(stream.getvalue())
            handler.close()
        assert outputs[0] == outputs[1]
        assert "secret" not in outputs[0]
        assert outputs[0].splitlines()[0] == (
            'INFO:     127.0.0.1:5000 - "POST /v1/notifications HTTP/1.1" 202 Accepted'
        )
        logger.setLevel(logging.WARNING)
        logs.log_request(*cases[0])  # below the level: nothing, not even a record
    finally:
        logger.handlers, logger.filters, logger.propagate, _ = saved
        logger.setLevel(saved[3])
