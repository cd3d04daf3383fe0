"""Micro-batching: concurrent suggestion requests share one embedding call.

Requests wait at most `wait_ms` (or until `max_batch` are queued); the batch is embedded and run
through the pipeline in one worker thread, and each caller gets its own result. Embedding cost grows
far slower than batch size, which is what lets a 2-core machine serve many concurrent agents.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class MicroBatcher(Generic[In, Out]):
    def __init__(
        self, run: Callable[[Sequence[In]], list[Out]], wait_ms: float = 2.0, max_batch: int = 32
    ) -> None:
        self.run = run
        self.wait_ms = wait_ms
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def submit(self, item: In) -> Out:
        assert self._queue is not None, "MicroBatcher.start() was not awaited"
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            deadline = asyncio.get_running_loop().time() + self.wait_ms / 1000
            while len(batch) < self.max_batch:
                if not self._queue.empty():  # take what is already queued without waiting
                    batch.append(self._queue.get_nowait())
                    continue
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout=remaining))
                except TimeoutError:
                    break
            items = [item for item, _ in batch]
            try:
                results = await asyncio.to_thread(self.run, items)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
