"""Database work of a request, given up after a deadline.

A PostgreSQL server that stops answering without closing its connections (a host that froze or
vanished from the network, a failover, a paused VM) leaves a query waiting on a pooled connection:
the driver has no read timeout, so the request waited for minutes, or until the server came back,
and so did every probe of /readyz. `within` runs the blocking call in a worker thread and stops
waiting for it after the deadline: the request is answered 503 (`DatabaseUnavailable`, "did not
answer within N s"), the thread is left to finish or fail on its own (the TCP keepalives of
`make_engine` end a connection to a host that is gone), and nothing was acknowledged, so the client's
retry (with its idempotency key, or the same `case_id` and `message_id`) is stored once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio
from anyio import to_thread

from supportcue.errors import DatabaseUnavailable

T = TypeVar("T")


def no_answer(timeout_s: float) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"the database did not answer within {timeout_s:g} s")


async def within(timeout_s: float, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`fn(*args, **kwargs)` in a worker thread; `DatabaseUnavailable` when it has not returned
    after `timeout_s` (the thread is abandoned, not stopped)."""
    try:
        with anyio.fail_after(timeout_s):
            return await to_thread.run_sync(partial(fn, *args, **kwargs), abandon_on_cancel=True)
    except TimeoutError:
        raise no_answer(timeout_s) from None
