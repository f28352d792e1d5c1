"""Micro-batching of single-post triage requests."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.batching import MicroBatcher, Overloaded


def test_concurrent_requests_share_batches_and_get_their_own_results() -> None:
    sizes: list[int] = []

    def run(items: list[int]) -> list[int]:
        sizes.append(len(items))
        time.sleep(0.02)  # a model call: requests pile up meanwhile
        return [i * 10 for i in items]

    batcher = MicroBatcher(run, max_batch=8, wait_s=0.01, max_queue=1000)
    try:
        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda i: batcher.submit(i, timeout=10), range(64)))
    finally:
        batcher.close()
    assert results == [i * 10 for i in range(64)]
    assert max(sizes) > 1 and max(sizes) <= 8 and sum(sizes) == 64


def test_errors_reach_every_caller_of_the_batch_and_the_worker_survives() -> None:
    def run(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("model failed")
        return items

    batcher = MicroBatcher(run, max_batch=4, wait_s=0.0, max_queue=10)
    try:
        with pytest.raises(ValueError, match="model failed"):
            batcher.submit("bad", timeout=5)
        assert batcher.submit("ok", timeout=5) == "ok"
    finally:
        batcher.close()


def test_a_full_queue_refuses_at_once() -> None:
    started, release = threading.Event(), threading.Event()

    def run(items: list[int]) -> list[int]:
        started.set()
        release.wait(5)
        return items

    batcher = MicroBatcher(run, max_batch=4, wait_s=0.0, max_queue=2)
    pool = ThreadPoolExecutor(4)
    try:
        futures = [pool.submit(batcher.submit, 0, 10)]
        assert started.wait(5)  # the worker is busy with post 0
        futures += [pool.submit(batcher.submit, i, 10) for i in (1, 2)]
        deadline = time.monotonic() + 5
        while batcher._queue.qsize() < 2 and time.monotonic() < deadline:  # noqa: SLF001
            time.sleep(0.01)
        with pytest.raises(Overloaded, match="limit is 2"):
            batcher.submit(99, timeout=1)
        release.set()
        assert sorted(f.result(5) for f in futures) == [0, 1, 2]
    finally:
        release.set()
        pool.shutdown()
        batcher.close()


def test_without_batching_callers_run_concurrently_up_to_the_limit() -> None:
    running = threading.Barrier(3, timeout=5)
    release = threading.Event()

    def run(items: list[int]) -> list[int]:
        running.wait()  # two callers inside at once (plus this test's thread)
        release.wait(5)
        return items

    batcher = MicroBatcher(run, max_batch=1, wait_s=0.0, max_queue=2)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(batcher.submit, i) for i in range(2)]
        running.wait()
        with pytest.raises(Overloaded, match="limit is 2"):
            batcher.submit(99)
        release.set()
        assert sorted(f.result(5) for f in futures) == [0, 1]
    batcher.close()


def test_running_posts_are_capped_and_the_rest_wait() -> None:
    inside, peak = 0, 0
    lock = threading.Lock()

    def run(items: list[int]) -> list[int]:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        time.sleep(0.02)
        with lock:
            inside -= 1
        return items

    batcher = MicroBatcher(run, max_batch=1, wait_s=0.0, max_queue=100, max_running=2)
    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(batcher.submit, range(16))) == list(range(16))
    assert peak == 2


def test_waiting_for_a_running_slot_times_out() -> None:
    release = threading.Event()

    def run(items: list[int]) -> list[int]:
        release.wait(5)
        return items

    batcher = MicroBatcher(run, max_batch=1, wait_s=0.0, max_queue=10, max_running=1)
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(batcher.submit, 0)
        time.sleep(0.05)
        with pytest.raises(TimeoutError, match="no free slot"):
            batcher.submit(1, timeout=0.05)
        release.set()
        assert busy.result(5) == 0


def test_async_callers_share_batches_and_get_their_own_results() -> None:
    import asyncio

    sizes: list[int] = []

    def run(items: list[int]) -> list[int]:
        sizes.append(len(items))
        time.sleep(0.02)
        return [i * 10 for i in items]

    async def main(batcher: MicroBatcher) -> list[int]:
        return list(await asyncio.gather(*(batcher.submit_async(i, timeout=10) for i in range(32))))

    for max_batch in (1, 8):
        sizes.clear()
        batcher = MicroBatcher(run, max_batch=max_batch, wait_s=0.01, max_queue=1000)
        try:
            assert asyncio.run(main(batcher)) == [i * 10 for i in range(32)]
        finally:
            batcher.close()
        assert max(sizes) == 1 if max_batch == 1 else 1 < max(sizes) <= 8


def test_an_async_caller_that_times_out_leaves_the_worker_serving() -> None:
    import asyncio

    release = threading.Event()

    def run(items: list[str]) -> list[str]:
        release.wait(5)
        return items

    async def main(batcher: MicroBatcher) -> str:
        with pytest.raises(TimeoutError):
            await batcher.submit_async("slow", timeout=0.05)
        release.set()
        return await batcher.submit_async("next", timeout=5)

    batcher = MicroBatcher(run, max_batch=4, wait_s=0.0, max_queue=10)
    try:
        assert asyncio.run(main(batcher)) == "next"
        assert batcher._worker.is_alive()  # noqa: SLF001
    finally:
        release.set()
        batcher.close()
