"""Process logging: text, or JSON lines (CYCLEWRIGHT_LOG_FORMAT=json) carrying the ids of the
cycle, run, step, transaction and account the line is about (runtime/context.py).

A failed activity attempt that Temporal will retry, or that failed on purpose (an
ApplicationError: an upstream's 429 or 5xx, a step error), is one line saying why; only an
unexpected exception keeps its traceback.
"""

from __future__ import annotations

import logging
import re

from pythonjsonlogger.json import JsonFormatter
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

from runtime import context

TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class ContextIds(logging.Filter):
    """Puts the ids of the code at hand on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in context.current().items():
            setattr(record, name, value)
        return True


class ActivityFailures(logging.Filter):
    """The worker's note of a failed activity attempt ("Completing activity as failed", with
    the traceback) as one line with the failure's type and message, when it is an
    ApplicationError: a failure the activity raised on purpose, not a bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if getattr(record, "__temporal_error_identifier", None) == "ActivityFailure" \
                and isinstance(error, ApplicationError):
            retry = "not retried" if error.non_retryable else "to be retried"
            record.msg = f"{record.getMessage()}: {error.type}, {retry}: {error.message}"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


class AccessLogSecrets(logging.Filter):
    """The API's access log without what a request path or query may hand over: a webhook's id
    (whoever knows it can post events) and OAuth codes, states and tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_hidden(a) if isinstance(a, str) else a for a in record.args)
        return True


ACCESS_LOG_HIDDEN = (
    (re.compile(r"(/v1\.0/webhooks/)[^/?\s]+"), r"\1***"),
    (re.compile(r"([?&](?:code|state|token|access_token|refresh_token|client_secret|api_?key)=)[^&\s]*",
                re.IGNORECASE), r"\1***"),
)


def _hidden(text: str) -> str:
    for pattern, replacement in ACCESS_LOG_HIDDEN:
        text = pattern.sub(replacement, text)
    return text


def hide_access_log_secrets() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogSecrets) for f in access.filters):
        access.addFilter(AccessLogSecrets())


def configure(log_format: str) -> None:
    """The root logger's one handler, in `log_format` (text or json)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
        # The ids are fields of their own: Temporal need not append them to the message too.
        activity.logger.activity_info_on_message = False
        workflow.logger.workflow_info_on_message = False
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # the API server's lines too
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    handler.addFilter(ContextIds())
    handler.addFilter(ActivityFailures())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per upstream call is noise
