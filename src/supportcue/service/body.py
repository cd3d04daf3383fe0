"""The API's JSON parser: strict, so every malformed body is a 422 that says what is wrong.

Python's `json` accepts what JSON does not (`NaN`, `Infinity`), turns `1e999999` into infinity, and
raises exceptions other than `JSONDecodeError` for bytes that are not UTF-8, for nesting deeper than
the interpreter's recursion limit, and for integers longer than 4,300 digits (and this API refuses
more than `MAX_ITEMS` items in arrays and objects, and nesting deeper than `MAX_DEPTH`); FastAPI
answers those with a bare 400 (or, for an infinity that reaches an error message, a 500). Here each becomes a
`JSONDecodeError` with a reason, which FastAPI reports as a validation error (`json_invalid`).
`StrictJSONRoute` is the route class of the routers that take a JSON body; a body over
`THREAD_ABOVE_BYTES` is parsed on a worker thread, so the event loop goes on answering meanwhile.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

MAX_DEPTH = 64
"""Deeper JSON than this is refused (no request of this API nests more than a few levels)."""
MAX_ITEMS = 10_000
"""A body with more items in its arrays and objects than this (commas outside strings) is refused
before it is parsed. No request of this API has more than a few thousand, while parsing 1 MiB of
them held the interpreter, and the event loop with it, and a few such requests at once (an embed key
may send them) every other caller for seconds: `[],` is some 340,000 lists, 2 s on a loaded machine
(most of it the garbage collections the new lists set off; 30 at once held /healthz for 27 s and
timed out other callers' key lookups), `0.5,` 262,000 numbers each read in Python (`_float`), 0.3 s."""


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number out of range ({text[:20]})")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are each given once: `json` let the last of a repeated key win without a
    word, while a proxy, logger or another parser in front of the service may read the first (a
    parser differential). Named, never its values; linear in the object's size."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                name = json.dumps(key[:40])  # escaped: a NUL or lone surrogate is not echoed raw
                raise json.JSONDecodeError(
                    f"the key {name} is given twice in an object; give each key once", "", 0
                )
            seen.add(key)
    return obj


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
"""A string, or what is left of the body after an unclosed one (which JSON refuses anyway). The
closing quote is optional so that a match never fails: one that had to (`"` then `\\"` and no
closing quote) was tried again from each later quote to the end, quadratic in the body's length
(30 kB held the event loop for 10 s, a 1 MiB body for hours)."""
_BRACKET = re.compile(r"[\[\]{}]")


def _check_shape(raw: str) -> None:
    """A `JSONDecodeError` when the body has more than `MAX_ITEMS` items in its arrays and objects, or
    nests them deeper than `MAX_DEPTH`, commas and brackets inside strings left out (no recursion;
    cheap for the usual body, which has fewer brackets than `MAX_DEPTH` and commas than `MAX_ITEMS`).
    The commas are counted in C; the loop in Python reads at most the first 2 * `MAX_ITEMS` brackets
    (a body with more is refused by its commas, or is no JSON: `[][]`)."""
    if raw.count("[") + raw.count("{") <= MAX_DEPTH and raw.count(",") < MAX_ITEMS:
        return
    bare = _STRING.sub("", raw)
    if bare.count(",") >= MAX_ITEMS:
        raise json.JSONDecodeError(
            f"more than {MAX_ITEMS:,} items in its arrays and objects (no request of this API has nearly "
            "as many)",
            "",
            0,
        )
    depth = 0
    for seen, found in enumerate(_BRACKET.finditer(bare)):
        if seen >= 2 * MAX_ITEMS:
            break
        depth += 1 if found.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise json.JSONDecodeError(f"nested too deeply (more than {MAX_DEPTH} levels)", "", 0)


BOM = "\ufeff"
"""The byte-order mark some clients (PowerShell, .NET) write before UTF-8 text; RFC 8259 lets a parser
ignore it. One is skipped; `json` refused the body with it ("Unexpected UTF-8 BOM"), a 422 for a
request with nothing wrong in it."""


def parse_json(body: bytes) -> Any:
    """`body` as JSON, or a `json.JSONDecodeError` whose message says what to fix."""
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8 text", "", exc.start) from None
    if raw.startswith(BOM):
        raw = raw[1:]
    _check_shape(raw)
    try:
        return json.loads(raw, parse_constant=_constant, parse_float=_float, object_pairs_hook=_object)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # NaN, Infinity, overflow; and int() past its digit limit
        reason = str(exc)
        if "digits" in reason:
            reason = "a number has too many digits"
        raise json.JSONDecodeError(reason, "", 0) from None


THREAD_ABOVE_BYTES = 65_536
"""A body larger than this is parsed on a worker thread, not on the event loop: parsing a body of 1 MiB
(most routes' limit) of numbers took 0.2 s (0.4 s on a loaded machine), during which every other
request (/healthz too) waited. A smaller one (nearly every request) is parsed at once: a thread's
hand-off costs more than its parse. The thread gives the loop its turn wherever the parse runs
Python (the nesting check, the number hooks); `json`'s C scanner, and the garbage collections it
sets off, keep the GIL, which is why a body of more than `MAX_ITEMS` items is refused before it is
parsed."""


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if len(body) > THREAD_ABOVE_BYTES:
                self._json = await run_in_threadpool(parse_json, body)
            else:
                self._json = parse_json(body)
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is read with `parse_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
