"""Logging: readable text by default, one JSON object per line with `STEWARD_LOG_FORMAT=json`.

Every record carries the context it was written in: the request (a slash command, a click, an event) or
the sweep that wrote it, the workspace, the initiative, and once known the outcome. The context is bound
with `context(...)` (a contextvar, so it follows the thread that handles the request and nothing else);
a record's own `extra={...}` fields win over it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

FIELDS = ("request_id", "sweep_id", "workspace", "initiative", "command", "outcome", "duration_ms")
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("steward_log_context", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@contextmanager
def context(**fields) -> Iterator[dict]:
    """Bind fields (request_id, sweep_id, workspace, initiative, ...) to every record written inside."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None})
    token = _context.set(current)
    try:
        yield current
    finally:
        _context.reset(token)


def bind(**fields) -> None:
    """Add fields to the context already bound (e.g. the initiative, once the command is parsed)."""
    current = _context.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v is not None})


def current() -> dict:
    return dict(_context.get() or {})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound context, extras, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        entry.update(_context.get() or {})
        for name, value in record.__dict__.items():
            if name not in _RESERVED and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The readable default; the request or sweep id is appended when one is bound, so lines can be grouped."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        bound = _context.get()
        if bound:
            ids = " ".join(f"{k}={bound[k]}" for k in ("request_id", "sweep_id") if k in bound)
            if ids:
                first, newline, rest = line.partition("\n")
                line = f"{first} [{ids}]{newline}{rest}"
        return line


def log_format(value: str | None = None) -> str:
    """`json` or `text` from STEWARD_LOG_FORMAT; anything else is refused with the accepted values."""
    value = (value if value is not None else os.environ.get("STEWARD_LOG_FORMAT", "")).strip().lower() or "text"
    if value not in ("text", "json"):
        raise ValueError(f"STEWARD_LOG_FORMAT must be text or json, not {value!r}")
    return value


def configure(level: int = logging.INFO, *, fmt: str | None = None, text_format: str = TEXT_FORMAT,
              stream=None) -> None:
    """Set the root logger's one handler (replacing any) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format(fmt) == "json" else TextFormatter(text_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
