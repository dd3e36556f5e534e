"""How a connector call fails: retryable or not, naming connector, method and HTTP status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.exchange import Exchange

EXCERPT_LIMIT = 500


class ConnectorError(Exception):
    retryable = False
    # The request and response as the debugger shows them (secrets masked, bodies bounded), when
    # the error came from an HTTP response or a failed send; built only on those error paths.
    exchange: Exchange | None = None

    def __init__(
        self,
        reason: str,
        *,
        connector: str | None = None,
        method: str | None = None,
        status: int | None = None,
        excerpt: str | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.connector, self.method = reason, connector, method
        self.status, self.excerpt = status, excerpt[:EXCERPT_LIMIT] if excerpt else excerpt
        self.exchange = exchange

    def __str__(self) -> str:
        return self.brief() + (f": {self.excerpt}" if self.excerpt else "")

    def brief(self) -> str:
        """Connector, method, status and reason, without the upstream's body (which may echo
        the record that was sent)."""
        where = " ".join(p for p in (self.connector, self.method) if p)
        status = f"HTTP {self.status} " if self.status else ""
        return f"{where + ': ' if where else ''}{status}{self.reason}"


class RetryableError(ConnectorError):
    """408, 425, 429, 5xx, timeouts and connection errors: worth trying again later."""

    retryable = True

    def __init__(self, reason: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(reason, **kwargs)
        self.retry_after = retry_after


class Unauthorized(ConnectorError):
    """401 after credentials were refreshed (or could not be)."""


class StepError(ConnectorError):
    """Any other 4xx: the request itself is wrong, so retrying cannot help."""


class ScriptError(ConnectorError):
    """A connector's script threw, ran past its time or memory limit, or does not load: the
    fault of the script (its message names the script's level, event and line), not of the
    upstream or of the call's input, so never retried."""


class UnknownParameter(StepError):
    """Call-time input naming a parameter the method does not let a caller set."""


class ConfigurationError(ConnectorError):
    """The account connector's setup is wrong, so every call made with it fails the same way:
    a run should fail as a whole rather than error each of its transactions."""


class InvalidUrl(ConfigurationError):
    """A URL no request can go to: not http(s), no host, or not a URL at all."""

    def __init__(self, reason: str, *, url: str | None = None, problem: str | None = None,
                 **kwargs) -> None:
        super().__init__(reason, **kwargs)
        self.url = url  # redacted
        self.problem = problem  # the end of a sentence about it: "is not an http(s) URL"


class InvalidCredentials(ConfigurationError):
    """An AuthValue that cannot be sent as the connector needs it (never quoted in the message)."""


class MissingMergefield(ConnectorError):
    """A {{Name}} with no value at call time."""


class FieldValueError(ConnectorError):
    """A field value that does not convert to the field's DataType."""


class InvalidInput(FieldValueError):
    """A call's parameters or fields that the connector's declarations refuse, found before
    anything is sent: each problem as (where the caller gives it, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str]], **kwargs) -> None:
        super().__init__("; ".join(message for _, message in problems), **kwargs)
        self.problems = problems


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# Free text is scrubbed only of secrets this long: a shorter one ("k") would also mask every
# unrelated occurrence of it, corrupting the text and revealing the secret by where the masks
# fall. Short secrets are masked where they travel (headers, parameters, fields) by name.
RECOGNISABLE_SECRET = 8


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret or "") >= RECOGNISABLE_SECRET:
            text = text.replace(secret, "***")
    return text
