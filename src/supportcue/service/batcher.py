"""Micro-batching: concurrent suggestion requests share one embedding call.

Requests wait at most `wait_ms` (or until `max_batch` are queued); the batch runs through `run` in
one worker thread (the CPU-bound part: embedding, and the stages that read only the request), and
each caller gets its own result. Embedding cost grows far slower than batch size, which is what lets
a 2-core machine serve many concurrent agents.

`run` may hand back, for an item, a `Later`: the rest of that item's work, which waits on I/O (a
stage calling an LLM, say). Each `Later` runs in a thread pool of its own while the loop goes on to
the next batch, so one slow call delays only its own request. `run` may also hand back an exception for
an item: that item alone fails with it (its suggestion could not be stored, say). If `run` raises on
a batch, each item is retried alone, so one bad request fails only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Later(Generic[Out]):
    """The rest of one item's work, to be finished off the batching loop."""

    def __init__(self, finish: Callable[[], Out]) -> None:
        self.finish = finish


@dataclass
class MicroBatcher(Generic[In, Out]):
    """Batches `submit`ted items through `run`; `start` and `stop` it within the event loop."""

    run: Callable[[Sequence[In]], Sequence[Out | Later[Out] | Exception]]
    wait_ms: float = 2.0
    max_batch: int = 32
    max_concurrent: int = 64
    _queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] | None = field(default=None, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _pending: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _executor: ThreadPoolExecutor | None = field(default=None, init=False)

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, item: In) -> Out:
        assert self._queue is not None, "MicroBatcher.start() was not awaited"
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _collect(self) -> list[tuple[In, asyncio.Future[Out]]]:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        batch = [await self._queue.get()]
        deadline = loop.time() + self.wait_ms / 1000
        while len(batch) < self.max_batch:
            if not self._queue.empty():  # take what is already queued without waiting
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), timeout=remaining))
            except TimeoutError:
                break
        return batch

    async def _loop(self) -> None:
        while True:
            batch = await self._collect()
            try:
                results = list(await asyncio.to_thread(self.run, [item for item, _ in batch]))
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    continue
                for one in batch:  # one bad item must not fail the others: each alone
                    await self._run_alone(one)
                continue
            self._deliver(batch, results)

    async def _run_alone(self, one: tuple[In, asyncio.Future[Out]]) -> None:
        try:
            results = list(await asyncio.to_thread(self.run, [one[0]]))
        except Exception as exc:
            _settle(one[1], exc)
        else:
            self._deliver([one], results)

    def _deliver(
        self, batch: list[tuple[In, asyncio.Future[Out]]], results: list[Out | Later[Out] | Exception]
    ) -> None:
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, Later):
                self._finish_later(result, future)
            elif isinstance(result, Exception):
                _settle(future, result)
            elif not future.done():
                future.set_result(result)

    def _finish_later(self, later: Later[Out], future: asyncio.Future[Out]) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="finish")
        executor = self._executor

        async def finish() -> None:
            try:
                value = await asyncio.get_running_loop().run_in_executor(executor, later.finish)
            except Exception as exc:
                _settle(future, exc)
            else:
                if not future.done():
                    future.set_result(value)

        task = asyncio.create_task(finish())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


def _settle(future: asyncio.Future[Out], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
