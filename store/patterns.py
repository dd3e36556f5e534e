"""The regular expressions partners and accounts write: a Decision's `Matches` pattern, from the
template or from a cycle's or an account's variable.

They run on RE2, not Python's re. re backtracks: `^(a+)+$` against 29 a's and a "!" holds its
thread for a minute, and a longer text for ever. RE2's time is linear in the text searched (and
it lets go of the GIL meanwhile), so a pattern gives its answer however long the value. A
pattern RE2 does not take (invalid, or needing what RE2 leaves out: lookaround,
backreferences), or one that compiles to more than MAX_PROGRAM instructions (a search's cost
per character grows with it), is refused where it is written: in the template, or as the
variable a Decision reads it from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2
from sqlmodel import Session, col, select

from store.tables import Cycle, CycleStep, Variable

# RE2 instructions. A search costs at worst time proportional to them for each character (when
# RE2's DFA gives up on a pattern): 2,700 took 3 s over 100,000 characters here. `^.{1,255}$`
# compiles to 2,296, `\p{L}+` to 1,201, an e-mail address pattern to 20 or so.
MAX_PROGRAM = 5_000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are raised, with their reason


class BadPattern(ValueError):
    """A pattern RE2 does not take, or one too large."""


@lru_cache(maxsize=256)
def compiled(pattern: str) -> Any:
    """The pattern, compiled by RE2 (once for many transactions); BadPattern saying why not."""
    try:
        regexp = re2.compile(pattern, _OPTIONS)
    except re2.error as err:
        reason = err.args[0].decode(errors="replace") if isinstance(err.args[0], bytes) else str(err)
        raise BadPattern(f"not a regular expression RE2 accepts: {reason} (RE2 has no lookaround and no "
                         "backreferences)") from None
    if regexp.programsize > MAX_PROGRAM:
        raise BadPattern(f"the pattern compiles to {regexp.programsize:,} RE2 instructions; the limit is "
                         f"{MAX_PROGRAM:,}")
    return regexp


def problem(pattern: str) -> str | None:
    """Why the pattern is refused; None for one that is fine."""
    try:
        compiled(pattern)
    except BadPattern as err:
        return str(err)
    return None


@dataclass(frozen=True)
class PatternUse:
    """A Decision of a cycle that reads its Matches pattern from a variable."""

    cycle_id: str
    step_name: str


def variable_uses(db: Session, owner_id: str, name: str) -> list[PatternUse]:
    """The Decisions whose pattern the variable `name` of the cycle or account `owner_id` is:
    a cycle's own, or those of the account's cycles without a variable of that name themselves."""
    cycles = select(Cycle.id).where((Cycle.id == owner_id) | (Cycle.account_id == owner_id))
    overriding = select(Variable.owner_id).where(Variable.name == name, col(Variable.owner_id).in_(cycles))
    decisions = db.exec(select(CycleStep).where(
        CycleStep.type == "Decision", col(CycleStep.cycle_id).in_(cycles),
        (CycleStep.cycle_id == owner_id) | col(CycleStep.cycle_id).not_in(overriding)))
    return [PatternUse(step.cycle_id, step.name) for step in decisions if _pattern_variable(step.document) == name]


def _pattern_variable(document: dict[str, Any]) -> str | None:
    condition = document.get("Condition") or {}
    right = condition.get("Right") or {}
    return right.get("Variable") if condition.get("Operator") == "Matches" and right.get("MappingType") == "Variable" \
        else None
