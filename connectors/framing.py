"""Responses framed by both Transfer-Encoding and Content-Length, read as RFC 9112 §6.3 says:
by their Transfer-Encoding, the Content-Length ignored, and their connection closed after them
(such a message may be an attempt at response splitting, so nothing else is read from it).

aiohttp's C parser (llhttp) refuses such a response, and aiohttp has no switch for it. So the
engine's connections parse with the C parser as usual, keeping the bytes of a response's head
until it is parsed; when the C parser refuses a head for carrying both, those bytes are read
again by aiohttp's own Python parser, told to let Transfer-Encoding win. Every other response
is the C parser's alone, at its speed.

This leans on aiohttp's internals (the connector's protocol factory, the protocol's parser):
tests/unit/test_framing.py, against a raw socket server, fails if an aiohttp release moves them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.client_exceptions import ClientPayloadError
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.http_parser import HttpResponseParserPy

CONFLICT = "Content-Length can't be present with Transfer-Encoding"  # llhttp's reason for refusing


class _TransferEncodingWins(HttpResponseParserPy):
    """aiohttp's Python response parser, reading a head with both headers without its
    Content-Length; the connection is not reused."""

    def parse_message(self, lines: list[bytes]) -> Any:
        kept = [line for line in lines[1:] if not line.lower().startswith(b"content-length:")]
        m = super().parse_message([lines[0], *kept])
        return type(m)(m.version, m.code, m.reason, m.headers, m.raw_headers, True,  # should_close
                       m.compression, m.upgrade, m.chunked)


class _Parser:
    """The C parser, handing a head it refuses for carrying both headers to `_TransferEncodingWins`;
    once a head is parsed, the protocol reads the rest with whichever parser took it, directly."""

    def __init__(self, protocol: _Protocol, parser: Any, fallback: Callable[[], HttpResponseParserPy]) -> None:
        self.protocol, self.parser, self.fallback = protocol, parser, fallback
        self.head = bytearray()  # the bytes read until the head is parsed

    def feed_data(self, data: bytes) -> Any:
        self.head += data
        try:
            messages, upgraded, tail = self.parser.feed_data(data)
        except BadHttpMessage as err:
            if CONFLICT not in str(err):
                raise
            self.parser = self.fallback()
            messages, upgraded, tail = self.parser.feed_data(bytes(self.head))
        if messages and self.protocol._parser is self:
            self.protocol._parser = self.parser  # parsed: the body needs no second reading
        return messages, upgraded, tail

    def __getattr__(self, name: str) -> Any:  # feed_eof, pause_reading, …: the parser's
        return getattr(self.parser, name)


class _Protocol(ResponseHandler):
    def set_response_params(self, **params: Any) -> None:
        super().set_response_params(**params)
        self._parser = _Parser(self, self._parser, functools.partial(self._fallback, **params))

    def _fallback(self, *, timer: Any = None, skip_payload: bool = False, read_until_eof: bool = False,
                  auto_decompress: bool = True, read_bufsize: int = 2**16, max_line_size: int = 8190,
                  max_field_size: int = 8190, max_headers: int = 128, **_: Any) -> HttpResponseParserPy:
        return _TransferEncodingWins(
            self, self._loop, read_bufsize, timer=timer, payload_exception=ClientPayloadError,
            response_with_body=not skip_payload, read_until_eof=read_until_eof, auto_decompress=auto_decompress,
            max_line_size=max_line_size, max_field_size=max_field_size, max_headers=max_headers)


class TolerantConnector(aiohttp.TCPConnector):
    """aiohttp's connector, its connections reading responses as above."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._factory = functools.partial(_Protocol, loop=self._loop)
