"""Failed console sign-ins per client address: after `max_failures` unknown keys within `window_s`
seconds, that address is refused (429, Retry-After) until the oldest failure leaves the window.

A guess at an API key costs one request; this caps guesses at a handful per window per address.
Kept in this process's memory (each replica counts its own; a restart forgets), bounded: past
`max_clients` addresses the one whose last failure is oldest is forgotten. Behind a reverse proxy
the address is the proxy's unless uvicorn trusts its forwarded headers (`FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque


class FailedSignIns:
    def __init__(self, max_failures: int, window_s: float, max_clients: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds until `client` may try again (0: it may now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(client, now)
            if times is None or len(times) < self.max_failures:
                return 0
            return max(1, int(times[0] + self.window_s - now + 0.999))

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(client, now)
            if times is None:
                times = self._failures[client] = deque()
            times.append(now)
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is not None:
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if not times:
                del self._failures[client]
                return None
        return times
