"""Problems found in a partner's document: each with its JSON path and a plain message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors import Problem
from store.template_spec import STEP_TYPES


class Invalid(Exception):
    """A document that cannot be saved; nothing of it was."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


class Conflict(Exception):
    """A change the present state of things does not allow (a connector a cycle uses, say)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class Forbidden(Exception):
    """A change the caller may not make (an account setting what only the partner may)."""


def json_path(loc: Sequence[Any]) -> str:
    """A pydantic error location as a JSON path. A step's location carries its Type as the
    union's tag (`Steps, 1, Decision, …`): not a part of the path."""
    parts = [p for i, p in enumerate(loc) if not (p in STEP_TYPES and i and isinstance(loc[i - 1], int))]
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def plain(message: str) -> str:
    """A validator's message without pydantic's prefix."""
    return message.removeprefix("Value error, ")
