"""Connector scripts: JavaScript event handlers run in a V8 isolate (mini-racer).

One isolate serves one call, so `action_data` carries from its before_action to its
after_action, and is closed after it: nothing one call's script keeps reaches another call
(another account's, say). JavaScript runs on V8's threads, never on the caller's event loop, with
a wall-time and a memory limit per isolate; a script that throws, loops or allocates without
bound fails its call with a ScriptError naming the script, its event and its line, and nothing
else.

Every isolate belongs to one event loop of the process's own, on a thread that lives as long as
the process: mini-racer hands an isolate's results to the loop it was made on, and a cancelled
evaluation's result (a script stopped at its time limit) arrives after the fact, so that loop
must outlive every isolate (one closed with its isolate logs "Event loop is closed").
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Self, TypeVar

from py_mini_racer import JSEvalException, JSOOMException, JSParseException, MiniRacer

from connectors import nesting
from connectors.errors import ScriptError

EVENTS = ("before_action", "after_action", "after_action_paging", "after_error", "before_webhook",
          "after_webhook")
# The globals an event's handlers read and change (DESIGN §2); those an event does not set are
# undefined in it.
VARIABLES = ("method_endpoint", "method_request_headers", "method_request_parameters", "method_request",
             "method_request_raw", "method_request_mergefields", "last_successful_run_date", "method_auth_value",
             "method_response", "method_response_headers", "statusCode", "method_error", "action_data")
HOST_CALLS_PER_EVENT = 50
JS = Path(__file__).parent / "js"
# Names that need crypto-js in the isolate; loading it costs a few milliseconds a call.
USES_CRYPTO = re.compile(r"\b(CryptoJS|hmac|btoa|atob)\b")
ERROR_LINE = re.compile(r"^[\w<>.-]+:(\d+): (.*)$")  # V8's "name:line: message"

SYNTAX_CHECK_SECONDS = 2.0

Host = Callable[[str, list[Any]], Awaitable[Any]]
T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _isolates_loop() -> asyncio.AbstractEventLoop:
    """The loop every isolate is made, used and closed on (see the module's docstring). Isolates
    are made one at a time on it, as V8 needs for the process's first."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="script-isolates", daemon=True).start()
        return _loop


def _on_isolates_loop(work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """`work` run on the isolates' loop, awaitable from the caller's; cancelling it cancels the
    work (an evaluation stops)."""
    return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, _isolates_loop()))


@dataclass(frozen=True)
class ScriptLimits:
    seconds: float = 10.0
    memory_mb: int = 128


@dataclass(frozen=True)
class Level:
    name: str  # connector | method | step
    source: str


def levels_of(*scripts: tuple[str, str | None]) -> list[Level]:
    """The levels that have a script, from (name, source) pairs."""
    return [Level(name, source) for name, source in scripts if source and source.strip()]


def mentions(event: str, *sources: str | None) -> bool:
    """Whether a script so much as names `event`: asked before opening an isolate to find out
    whether one handles it."""
    return any(event in (source or "") for source in sources)


def order(levels: Sequence[Level], event: str) -> list[Level]:
    """Connector → method → step; the before_* events start with the method's own script."""
    if event.startswith("before_"):
        rank = {"method": 0, "connector": 1, "step": 2}
        return sorted(levels, key=lambda level: rank.get(level.name, 3))
    return list(levels)


@cache
def _library(name: str) -> str:
    return (JS / name).read_text()


def _load_source(level: Level) -> str:
    """The level's script in a function of its own (so levels' handlers do not collide), on
    the script's first line so that errors give the script's own line numbers."""
    handlers = ", ".join(f"{e}: typeof {e} === 'function' ? {e} : undefined" for e in EVENTS)
    return (f"__levels[{json.dumps(level.name)}] = (function () {{ {level.source}\n;return {{{handlers}}}; }})();"
            f"\n//# sourceURL={level.name}-script")


def _message(err: JSEvalException) -> tuple[int | None, str]:
    """The script's line and message from V8's report."""
    first = str(err).splitlines()[0] if str(err) else ""
    match = ERROR_LINE.match(first)
    return (int(match[1]), match[2]) if match else (None, first or type(err).__name__)


# The names a script gives functions: `function name(`, and `name = function` or an arrow.
_FUNCTION_NAMES = re.compile(r"\bfunction\s*\*?\s*([A-Za-z_$][\w$]*)\s*\("
                             r"|\b([A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?(?:function\b|\([^()]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)")


def _words(name: str) -> list[str]:
    return sorted(w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name))


def misnamed_events(source: str) -> dict[str, str]:
    """Functions a script defines whose names are near an event's but not one (action_before,
    beforeAction, before_acton): they would never run. Each, with the event it is near."""
    found = {}
    for match in _FUNCTION_NAMES.finditer(source):
        name = match[1] or match[2]
        if name in EVENTS or name in found:
            continue
        near = [e for e in EVENTS if _words(e) == _words(name)] or difflib.get_close_matches(name, EVENTS, n=1,
                                                                                            cutoff=0.85)
        if near:
            found[name] = near[0]
    return found


def problems(source: str) -> list[str]:
    """What keeps a script from running as written: its syntax, or a handler misnamed."""
    if syntax := check_syntax(source):
        return [f"the script does not parse: {syntax}"]
    return [f"function '{name}' is not a script event, so it never runs; did you mean '{event}'?"
            for name, event in misnamed_events(source).items()]


@cache
def check_syntax(source: str) -> str | None:
    """What is wrong with a script's syntax (naming its line), or None."""
    return asyncio.run_coroutine_threadsafe(_syntax_problem(source), _isolates_loop()).result()


async def _syntax_problem(source: str) -> str | None:
    with MiniRacer() as isolate:
        try:
            await _evaluate(isolate, "var __levels = {};" + _load_source(Level("script", source)),
                            SYNTAX_CHECK_SECONDS)
        except JSParseException as err:
            line, message = _message(err)
            return f"line {line}: {message}" if line else message
        except (JSEvalException, TimeoutError):
            return None  # it parses; what it does when loaded is for a call to find out
    return None


async def _evaluate(isolate: MiniRacer, code: str, seconds: float) -> Any:
    """`code` evaluated in the isolate, stopped after `seconds` (TimeoutError)."""
    return await asyncio.wait_for(isolate.eval_cancelable(code), seconds)


@dataclass
class Fired:
    """What an event's handlers made of it: their verdict and the variables as they left them."""

    verdict: Any = True  # False: skip the call (before_*), ignore the error (after_error); text: a warning
    state: dict[str, Any] = field(default_factory=dict)


class ScriptSession:
    """The isolate of one call, with every level's handlers loaded."""

    def __init__(self, levels: Sequence[Level], host: Host, limits: ScriptLimits = ScriptLimits()) -> None:
        self.levels, self.host, self.limits = list(levels), host, limits
        self.action_data: Any = {}
        self._isolate: MiniRacer | None = None
        self._handled: dict[str, set[str]] = {}

    async def __aenter__(self) -> Self:
        await _on_isolates_loop(self._open())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._isolate is not None:  # closed on its loop, after whatever it has still to report
            _isolates_loop().call_soon_threadsafe(self._isolate.close)

    def handles(self, event: str) -> bool:
        return any(event in handled for handled in self._handled.values())

    async def fire(self, event: str, state: dict[str, Any]) -> Fired:
        """Run the event's handlers, level by level, each seeing what the last one changed; a
        handler answering anything but true ends the event with that verdict."""
        fired = Fired(state={**state, "action_data": self.action_data})
        for level in order(self.levels, event):
            if event in self._handled[level.name]:
                fired = await self._fire_level(level, event, fired.state)
                if fired.verdict is not True:
                    break
        self.action_data = fired.state.get("action_data")
        return fired

    async def _open(self) -> None:
        """On the isolates' loop: the isolate, with the prelude and every level's handlers (closed
        again when a script does not load)."""
        self._isolate = MiniRacer()
        try:
            await self._load()
        except BaseException:
            self._isolate.close()
            self._isolate = None
            raise

    async def _load(self) -> None:
        assert self._isolate is not None
        self._isolate.set_hard_memory_limit(self.limits.memory_mb * 2**20)
        library = _library("prelude.js")
        if any(USES_CRYPTO.search(level.source) for level in self.levels):
            library += ";\n" + _library("crypto-js.js")
        await self._eval("the script library", library)
        for level in self.levels:
            await self._eval(f"the {level.name} script", _load_source(level))
            handlers = f"__levels[{json.dumps(level.name)}]"
            found = await self._eval(f"the {level.name} script",
                                     f"JSON.stringify(Object.keys({handlers}).filter(e => {handlers}[e]))")
            self._handled[level.name] = set(json.loads(found))

    async def _fire_level(self, level: Level, event: str, state: dict[str, Any]) -> Fired:
        """One level's handler, run again from its start after each host call it makes."""
        answers: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.limits.seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out(f"the {level.name} script's {event}")
            call = f"__run({json.dumps(level.name)}, {json.dumps(event)}, {json.dumps(VARIABLES)}, " \
                   f"{json.dumps(state, default=str)}, {json.dumps(answers, default=str)})"
            # What the handler left (its result, the globals, a host call's arguments) is data like
            # any other, no deeper than the bound; two levels are __run's envelope around it.
            out = nesting.loads(await _on_isolates_loop(
                self._eval(f"the {level.name} script's {event}", f"JSON.stringify({call})", remaining)),
                f"what the {level.name} script's {event} left", envelope=2)
            if "error" in out:
                line = f" at line {out['line']}" if out.get("line") else ""
                raise ScriptError(f"the {level.name} script's {event} failed{line}: {out['error']}")
            if "pending" not in out:
                return Fired(out["result"], {k: out["state"].get(k) for k in VARIABLES})
            if len(answers) >= HOST_CALLS_PER_EVENT:
                raise ScriptError(f"the {level.name} script's {event} made more than {HOST_CALLS_PER_EVENT} "
                                  "host calls (http_request, cycle_storage_*)")
            answers.append(await self._answer(out["pending"]))

    async def _answer(self, pending: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"value": await self.host(pending["name"], pending.get("args") or [])}
        except ScriptHostError as err:
            return {"error": str(err)}

    async def _eval(self, what: str, code: str, seconds: float | None = None) -> Any:
        """On the isolates' loop: `code` evaluated; `what` names the script (and event) in an error."""
        assert self._isolate is not None
        try:
            return await _evaluate(self._isolate, code, seconds or self.limits.seconds)
        except TimeoutError:
            raise self._timed_out(what) from None
        except JSOOMException:
            raise ScriptError(f"{what} ran out of memory (limit {self.limits.memory_mb} MiB)") from None
        except JSEvalException as err:
            line, message = _message(err)
            raise ScriptError(f"{what} failed{f' at line {line}' if line else ''}: {message}") from None

    def _timed_out(self, what: str) -> ScriptError:
        return ScriptError(f"{what} did not finish within {self.limits.seconds:g} s")


class ScriptHostError(Exception):
    """A host call that failed: the script sees it thrown as an Error with this message."""
