"""Request micro-batching: single-post triage requests that arrive together run as one
encoder batch, which costs less per post than one run each on 2 cores.

One worker thread takes the first waiting post, waits up to `wait_s` for more (never past
`max_batch`), runs them as one `Engine.triage` call and hands each caller its own result.
When more than `max_queue` posts wait, new requests are refused at once (the router answers
503 with Retry-After) instead of queueing until every caller times out.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from service import observability as obs
from service.request_log import bound_request_ids, current_request_id

In = TypeVar("In")
Out = TypeVar("Out")
log = logging.getLogger("wegwijzer.batching")


class Overloaded(RuntimeError):
    """More requests are waiting than the service can start on soon."""


class MicroBatcher(Generic[In, Out]):
    """With max_batch 1 there is no worker: each caller runs its own post in its own thread,
    at most `max_running` at once (0 = no cap), with at most `max_queue` waiting or running."""

    def __init__(self, run: Callable[[list[In]], list[Out]], max_batch: int, wait_s: float, max_queue: int,
                 max_running: int = 0) -> None:
        self._run = run
        self._running = threading.BoundedSemaphore(max_running) if max_running else None
        self.max_batch, self.wait_s, self.max_queue = max_batch, wait_s, max_queue
        # Each waiting post carries its request's id, so the worker's log lines name the requests it serves.
        self._queue: queue.Queue[tuple[In, Future[Out], str | None]] = queue.Queue()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._inflight = 0
        self._worker = threading.Thread(target=self._loop, name="micro-batcher", daemon=True)
        if max_batch > 1:
            self._worker.start()

    def submit(self, item: In, timeout: float | None = None) -> Out:
        if self._stopped.is_set():
            raise RuntimeError("the micro-batcher is stopped")
        if self.max_batch == 1:
            return self._inline(item, timeout)
        return self._enqueue(item).result(timeout)

    async def submit_async(self, item: In, timeout: float | None = None) -> Out:
        """`submit` from the event loop: without batching the post runs in the thread pool; with it,
        the caller waits for its batch's result in the loop instead of holding a pool thread."""
        if self.max_batch == 1 or self._stopped.is_set():
            return await run_in_threadpool(self.submit, item, timeout)
        future = asyncio.wrap_future(self._enqueue(item))
        # shield: a caller that gives up leaves the post in its batch (as `submit` does); the worker
        # then sets a result nobody reads instead of failing on a cancelled future
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    def _enqueue(self, item: In) -> Future[Out]:
        if self._queue.qsize() >= self.max_queue:
            raise Overloaded(f"{self._queue.qsize()} posts are waiting; the limit is {self.max_queue}")
        future: Future[Out] = Future()
        self._queue.put((item, future, current_request_id()))
        return future

    def _inline(self, item: In, timeout: float | None) -> Out:
        with self._lock:
            if self._inflight >= self.max_queue:
                raise Overloaded(f"{self._inflight} posts are being triaged; the limit is {self.max_queue}")
            self._inflight += 1
        try:
            if self._running is None:
                return self._run([item])[0]
            if not self._running.acquire(timeout=timeout):
                raise TimeoutError(f"no free slot to run the post within {timeout} s")
            try:
                return self._run([item])[0]
            finally:
                self._running.release()
        finally:
            with self._lock:
                self._inflight -= 1

    def close(self) -> None:
        self._stopped.set()
        if self._worker.is_alive():
            self._worker.join(timeout=5)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                first = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self._run_batch(self._collect(first))

    def _collect(self, first: tuple[In, Future[Out], str | None]) -> list[tuple[In, Future[Out], str | None]]:
        batch = [first]
        deadline = time.monotonic() + self.wait_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run_batch(self, batch: list[tuple[In, Future[Out], str | None]]) -> None:
        obs.BATCH.observe(len(batch))
        with bound_request_ids([rid for _, _, rid in batch if rid is not None]):
            start = time.perf_counter()
            try:
                results = self._run([item for item, _, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every caller gets the error, the worker lives on
                log.debug("micro-batch of %d posts failed: %s", len(batch), type(exc).__name__)
                for _, future, _ in batch:
                    future.set_exception(exc)
                return
            log.debug("micro-batch of %d posts ran in %.1f ms", len(batch), (time.perf_counter() - start) * 1000)
        for (_, future, _), result in zip(batch, results, strict=True):
            future.set_result(result)
