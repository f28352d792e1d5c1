"""Expected response time from the imported threads: median time to a first answer and to an accepted
solution per route and per (route, topic); the policy's configured text is the fallback when there
is too little history (fewer than MIN_THREADS threads)."""

from __future__ import annotations

import statistics
import threading
from typing import Any

from service.matching import TOPIC_NL
from service.store import Store

MIN_THREADS = 5  # a median over fewer threads is not shown


def duration_nl(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 60:
        m = max(int(round(minutes)), 1)
        return f"{m} {'minuut' if m == 1 else 'minuten'}"
    hours = minutes / 60
    if hours < 48:
        return f"{int(round(hours))} uur"
    d = int(round(hours / 24))
    return f"{d} dagen"


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


class ResponseHistory:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._groups: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._totals: dict[str, int] = {"threads": 0, "solved": 0}
        self.refresh()

    def refresh(self) -> None:
        rows = self.store.query("SELECT route, topic, first_answer_s, solution_s FROM threads")
        groups: dict[tuple[str, str | None], list[tuple]] = {}
        for route, topic, first, solution in rows:
            if route is None:
                continue
            groups.setdefault((route, None), []).append((first, solution))
            groups.setdefault((route, topic), []).append((first, solution))
        out = {}
        for key, items in groups.items():
            firsts = [f for f, _ in items if f is not None]
            solutions = [s for _, s in items if s is not None]
            out[key] = {"threads": len(items), "answered": len(firsts), "solved": len(solutions),
                        "first_answer_median_s": _median(firsts), "solution_median_s": _median(solutions)}
        with self._lock:
            self._groups = out
            self._totals = {"threads": len(rows), "solved": sum(1 for r in rows if r[3] is not None)}

    def expected_response(self, route: str, topic: str | None) -> str | None:
        """Dutch text from history for this route (and topic when it has enough threads), or None."""
        with self._lock:
            keys = ([((route, topic), f"over {TOPIC_NL.get(topic, topic)}")] if topic else []) + [((route, None), "")]
            for key, scope in keys:
                g = self._groups.get(key)
                if g and g["answered"] >= MIN_THREADS and g["first_answer_median_s"] is not None:
                    text = f"meestal binnen {duration_nl(g['first_answer_median_s'])} een eerste antwoord"
                    if g["solved"] >= MIN_THREADS and g["solution_median_s"] is not None:
                        text += f", opgelost binnen {duration_nl(g['solution_median_s'])}"
                    what = f"{g['answered']} eerdere vragen" + (f" {scope}" if scope else "")
                    return f"{text} (mediaan van {what} via {route})"
        return None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_route = {r: g for (r, t), g in self._groups.items() if t is None}
            by_topic: dict[str, dict[str, Any]] = {}
            for (r, t), g in sorted(self._groups.items(), key=lambda x: (x[0][0], x[0][1] or "")):
                if t is not None:
                    by_topic.setdefault(r, {})[t] = g
            return {**self._totals, "min_threads": MIN_THREADS, "by_route": by_route, "by_route_topic": by_topic}
