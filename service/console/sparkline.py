"""Posts per 10 minutes as a small bar chart (a sparkline), drawn on the server as inline SVG."""

from __future__ import annotations

from dataclasses import dataclass

BUCKET_S = 600


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int


@dataclass
class Sparkline:
    bars: list[Bar]  # oldest first, in a width x height box
    width: int
    height: int
    counts: list[int]
    label: str  # what a screen reader hears

    @property
    def peak(self) -> int:
        return max(self.counts, default=0)


def sparkline(histogram: dict[int, int], first_ts: float, last_ts: float, max_buckets: int = 36,
              width: int = 180, height: int = 36) -> Sparkline:
    """The 10-minute buckets from first_ts to last_ts (the last `max_buckets` of them), empty ones as zero."""
    last = int(last_ts // BUCKET_S)
    first = max(int(first_ts // BUCKET_S), last - max_buckets + 1)
    counts = [histogram.get(b, 0) for b in range(first, last + 1)]
    peak = max(max(counts, default=0), 1)
    slot = width / max(len(counts), max_buckets // 3, 1)  # a lone bucket stays a bar, not the whole width
    bar_w = max(slot * 0.8, 1.0)
    bars = []
    for i, c in enumerate(counts):
        h = (height - 2) * c / peak if c else 0.0
        bars.append(Bar(round(i * slot, 1), round(height - 1 - h, 1), round(bar_w, 1), round(h, 1), c))
    minutes = len(counts) * BUCKET_S // 60
    label = (f"Berichten per 10 minuten over de laatste {minutes} minuten: {', '.join(map(str, counts))} "
             f"(hoogste {max(counts, default=0)})")
    return Sparkline(bars, width, height, counts, label)
