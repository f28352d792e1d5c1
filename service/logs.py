"""Structured logs: one JSON object per line on stderr (or a readable console format), for our own
structlog loggers and every standard-library logger (uvicorn's, `logging.getLogger("wegwijzer")`).

Every line has `timestamp` (ISO 8601, UTC), `level`, `logger` and `event`; lines logged while a request
is handled also carry its `request_id` (bound with `structlog.contextvars` by `service.request_log`).
Post text is never logged; as a safety net tracebacks and standard-library messages go through
`models.redact.redact`, and tracebacks are rendered without local variables.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from models.redact import redact

LogFormat = Literal["json", "console"]
LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO,
          "debug": logging.DEBUG, "trace": 5}
# uvicorn's own access log is replaced by our middleware's one line per request.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
_UVICORN_ACCESS = "uvicorn.access"
# Set while this thread redacts a line: a line the redaction itself logs (a failing detector warns by name)
# is written as is instead of being redacted again, which would recurse.
_redacting = threading.local()


def redact_text_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Redact personal data in free text that may quote input: a rendered traceback, and the message of a
    standard-library record (formatted from arbitrary arguments). Our structlog events are fixed strings
    with typed fields, so their event is left alone (redaction costs ~20-200 µs a line)."""
    if getattr(_redacting, "active", False):
        return event_dict
    keys = ("exception",) if event_dict.get("_from_structlog") else ("event", "exception")
    _redacting.active = True
    try:
        for key in keys:
            value = event_dict.get(key)
            if isinstance(value, str):
                event_dict[key] = redact(value)
    finally:
        _redacting.active = False
    return event_dict


def shared_processors() -> list[Processor]:
    """Run on every entry, whether it came from structlog or from the standard library."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.stdlib.PositionalArgumentsFormatter(),
    ]


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of each line (so captured or redirected
    stderr is honoured, and a replaced stream is never written to after it was closed)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._fixed = stream
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """`logging.StreamHandler.__init__` assigns a stream; the current stderr is used instead."""


_handler: logging.Handler | None = None


def formatter(fmt: LogFormat) -> structlog.stdlib.ProcessorFormatter:
    renderer: Processor = (structlog.processors.JSONRenderer() if fmt == "json"
                           else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[structlog.processors.format_exc_info, redact_text_fields,
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer])


def configure_logging(level: str = "info", fmt: LogFormat = "json", stream: TextIO | None = None) -> None:
    """Route structlog and the standard library through one formatter on stderr (or `stream`).

    Safe to call again (a new app in the same process): the previous handler is replaced."""
    global _handler
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    if fmt not in ("json", "console"):
        raise ValueError(f"unknown log format {fmt!r}; use json or console")
    logging.addLevelName(LEVELS["trace"], "TRACE")
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = StderrHandler(stream)
    _handler.setFormatter(formatter(fmt))
    root.addHandler(_handler)
    root.setLevel(LEVELS[level])
    for name in _UVICORN_LOGGERS:  # uvicorn's own handlers (when it configured logging) would print plain text
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    access = logging.getLogger(_UVICORN_ACCESS)
    access.handlers.clear()
    access.propagate = False
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared_processors(),
                    structlog.processors.StackInfoRenderer(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
