"""Replicas that agree: follow the change feed (service/db/changes.py) of a shared PostgreSQL store.

A daemon thread holds its own connection with `LISTEN wegwijzer_changes`; on a notification (or
every `poll_s` seconds, in case one was lost) it reads the changes after its watermark and hands
them to `apply`. After a lost connection it reconnects with backoff and catches up from the same
watermark, so nothing committed while it was away is missed. Changes commit in `seq` order (the
writers serialise on an advisory lock), so "everything up to the watermark is applied" holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from service import observability as obs
from service.db import changes
from service.store import Store

log = logging.getLogger("wegwijzer.sync")
Change = tuple[int, str, str]


class ChangeFollower:
    def __init__(self, store: Store, apply: Callable[[list[Change]], None], watermark: int,
                 poll_s: float = 5.0) -> None:
        self.store, self.apply, self.watermark, self.poll_s = store, apply, watermark, poll_s
        self._stop = threading.Event()
        self._catch_up_lock = threading.Lock()
        self.connected = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self) -> int:
        """Apply every change after the watermark; returns how many."""
        done = 0
        with self._catch_up_lock:
            while True:
                rows = changes.since(self.store.query, self.watermark)
                if not rows:
                    return done
                self.apply(rows)
                self.watermark = rows[-1][0]
                done += len(rows)
                self._lag(rows)

    def _lag(self, rows: list[Change]) -> None:
        latest = self.store.query("SELECT ts FROM changes WHERE seq=?", (rows[-1][0],))
        if latest:
            obs.SYNC_LAG.observe(max(0.0, time.time() - float(latest[0][0])))

    def start(self) -> ChangeFollower:
        self._thread = threading.Thread(target=self._run, name="change-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        backoff = 0.2
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.store.url.conninfo, autocommit=True,
                                     application_name="wegwijzer-follower") as conn:
                    conn.execute(f"LISTEN {changes.CHANNEL}")
                    self.connected.set()
                    obs.SYNC_CONNECTED.set(1)
                    backoff = 0.2
                    self.catch_up()  # whatever was committed before LISTEN took effect
                    last = time.monotonic()
                    while not self._stop.is_set():
                        notified = any(True for _ in conn.notifies(timeout=min(0.5, self.poll_s), stop_after=1))
                        if notified or time.monotonic() - last >= self.poll_s:
                            self.catch_up()
                            last = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - a lost connection or a failed apply: reconnect, catch up
                self.connected.clear()
                obs.SYNC_CONNECTED.set(0)
                if self._stop.is_set():
                    break
                log.warning("change feed: %s: %s; reconnecting in %.1f s", type(exc).__name__, exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self.connected.clear()
        obs.SYNC_CONNECTED.set(0)
