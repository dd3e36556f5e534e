"""Problems found in a partner's document: each with its JSON path and a plain message."""

from __future__ import annotations

from connectors import Problem


class Invalid(Exception):
    """A document that cannot be saved; nothing of it was."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems
