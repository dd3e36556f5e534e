"""Inbound paging: what each page's request carries, and where the next page starts.

A cursor is a plain dict (it travels through Temporal between activities):
    {"page": 3}            PAGE_NUMBER (from 1)
    {"offset": 200}        PAGE_OFFSET (from 0)
    {"next_url": "..."}    PAGE_NEXT_URL (from a body path or the Link header)
    {"tokens": {...}}      PAGE_TOKEN and its suffixed pairs (PAGE_TOKEN_AFTER, ...)
plus "pages" (fetched so far) and "digest" (of the last page, to catch a repeated one).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from yarl import URL

from connectors.paths import parse_path, read
from connectors.spec import Connector, Method, Parameter

Cursor = dict[str, Any]

CONTROLS = ("PAGE_NUMBER", "PAGE_OFFSET", "PAGE_SIZE", "PAGE_NEXT_URL", "PAGE_TOKEN")
SENT = ("QueryString", "HttpHeader")  # where a control sent with each page's request goes


def known_control(value: str) -> str | None:
    """The control `value` names (PAGE_TOKEN and PAGE_TOKEN_<suffix>; each also CYCLR_-prefixed)."""
    bare = value.removeprefix("CYCLR_")
    return bare if bare in CONTROLS or (bare.startswith("PAGE_TOKEN_") and bare != "PAGE_TOKEN_") else None


def control(param: Parameter) -> str | None:
    """The paging control value a parameter carries, `CYCLR_` aliases normalised."""
    return next((c for c in map(known_control, param.Values) if c), None)


def value_problem(value: str) -> str | None:
    """Why a parameter value is a paging control misspelt (so paging would silently stop after
    page 1, or never send the cursor), naming the nearest; None for a control, or for a value
    nowhere near one (an allowed value such as PAGE_VIEWS). CYCLR_ words are all Cyclr's."""
    if known_control(value):
        return None
    close = difflib.get_close_matches(value, [p + c for p in ("", "CYCLR_") for c in CONTROLS], n=1, cutoff=0.8)
    if close:
        return f"'{value}' is not a paging value; did you mean '{close[0]}'?"
    if value.startswith("CYCLR_"):
        return f"'{value}' is not a paging value (they are {', '.join(CONTROLS)} and PAGE_TOKEN_<suffix>, " \
               "each also with CYCLR_ before it)"
    return None


def placement_problem(target_type: str, value: str) -> str | None:
    """Why a known paging control does nothing on a parameter of `target_type`, or None."""
    if value == "PAGE_NEXT_URL" and target_type != "ResponseField":
        return "PAGE_NEXT_URL is read from each response: put it on a ResponseField parameter"
    if value.startswith("PAGE_TOKEN") and target_type not in (*SENT, "ResponseField"):
        return (f"{value} is read from each response (a ResponseField parameter) and sent with the next "
                "request (a QueryString or HttpHeader parameter)")
    if value in ("PAGE_NUMBER", "PAGE_OFFSET", "PAGE_SIZE") and target_type not in SENT:
        return f"{value} is sent with each page's request: put it on a QueryString or HttpHeader parameter"
    return None


def unpaired_tokens(controls: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Of one method's (TargetType, control) pairs, the token controls only one side carries,
    each with why: a token read and never sent makes every request ask for the first page."""
    controls = list(controls)
    read = {c for kind, c in controls if kind == "ResponseField"}
    sent = {c for kind, c in controls if kind in SENT}
    found = {}
    for value in sorted(c for c in read ^ sent if c and c.startswith("PAGE_TOKEN")):
        found[value] = (f"{value} is read from each response but no QueryString or HttpHeader parameter sends it"
                        if value in read else
                        f"{value} is sent but no ResponseField parameter reads it from the response")
    return found


@dataclass(frozen=True)
class Paging:
    method: Method
    size: int | None
    style: str | None  # number | offset | next_url | token | None (not paged)

    @classmethod
    def of(cls, connector: Connector, method: Method, parameters: list[Parameter]) -> Paging:
        paged = method.PagedInbound if method.PagedInbound is not None else connector.PagedInbound
        size = method.PageSizeInbound or connector.PageSizeInbound
        controls = {control(p) for p in parameters} - {None}
        style = None
        if paged:
            if any(c.startswith("PAGE_TOKEN") for c in controls):
                style = "token"
            elif "PAGE_NEXT_URL" in controls or paged and not controls - {"PAGE_SIZE"}:
                style = "next_url"  # a paged method with no controls follows the Link header
            elif "PAGE_OFFSET" in controls:
                style = "offset"
            elif "PAGE_NUMBER" in controls:
                style = "number"
        return cls(method, size, style)

    def request_value(self, param: Parameter, cursor: Cursor) -> str | None:
        """The value a paging parameter sends on the page `cursor` points at."""
        match control(param):
            case "PAGE_NUMBER":
                return str(cursor.get("page", 1))
            case "PAGE_OFFSET":
                return str(cursor.get("offset", 0))
            case "PAGE_SIZE":
                return str(self.size) if self.size else None
            case str(c) if c.startswith("PAGE_TOKEN"):
                return cursor.get("tokens", {}).get(c)
        return None

    def next_cursor(
        self,
        cursor: Cursor,
        parameters: list[Parameter],
        body: Any,
        digest: str,
        links: Mapping[str, str],
        records: int,
        url: URL,
    ) -> tuple[Cursor | None, str | None]:
        """Where the next page starts (None: no more pages), and a warning when a guard stopped it.

        `digest` identifies the page's content (see `digest`), to catch an API repeating a page;
        `links` are the Link header's targets by relation; `url` is the page's own URL, which a
        relative next URL is resolved against.
        """
        if self.style is None:
            return None, None
        pages = cursor.get("pages", 0) + 1
        if self.repeats(cursor, digest):
            return None, f"page {pages} repeated page {pages - 1}: paging stopped"
        if pages >= self.method.MaxPages:
            return None, f"paging stopped at MaxPages ({self.method.MaxPages})"
        base = {"pages": pages, "digest": digest}
        if self.style in ("number", "offset"):
            short = self.size is not None and records < self.size
            if records == 0 or (short and self.method.PagingStopOnShortPage):
                return None, None
            if self.style == "number":
                return {**base, "page": cursor.get("page", 1) + 1}, None
            return {**base, "offset": cursor.get("offset", 0) + records}, None
        if self.style == "next_url":
            found = _response_value(parameters, "PAGE_NEXT_URL", body) or links.get("next")
            return ({**base, "next_url": _absolute(url, str(found))}, None) if found else (None, None)
        # Cursor styles trust the API's cursor: an empty page with a next token goes on.
        tokens = {c: v for c, v in _response_tokens(parameters, body).items() if v not in (None, "")}
        return ({**base, "tokens": tokens}, None) if tokens else (None, None)


    def repeats(self, cursor: Cursor, digest: str) -> bool:
        """The same page again: an API ignoring the cursor would otherwise loop forever."""
        return self.style is not None and cursor.get("digest") == digest


def _absolute(page_url: URL, following: str) -> str:
    """A next URL as sent: `/x?page=2`, `?page=2` and `page2` are relative to the page's URL."""
    try:
        return str(page_url.join(URL(following)))
    except ValueError:
        return following  # left as given: the next call refuses it, naming it (InvalidUrl)


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _response_value(parameters: list[Parameter], wanted: str, body: Any) -> Any:
    for param in parameters:
        if param.TargetType == "ResponseField" and control(param) == wanted and param.TargetName:
            return read(body, parse_path(param.TargetName))
    return None


def _response_tokens(parameters: list[Parameter], body: Any) -> dict[str, Any]:
    return {
        control(p): read(body, parse_path(p.TargetName))
        for p in parameters
        if p.TargetType == "ResponseField" and (control(p) or "").startswith("PAGE_TOKEN") and p.TargetName
    }
