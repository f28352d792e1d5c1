"""Posts per 10 minutes as a sparkline: points for an inline SVG polyline, drawn on the server."""

from __future__ import annotations

from dataclasses import dataclass

BUCKET_S = 600


@dataclass
class Sparkline:
    points: str  # "x,y x,y ..." in a width x height box
    width: int
    height: int
    counts: list[int]  # oldest first
    label: str  # what a screen reader hears

    @property
    def peak(self) -> int:
        return max(self.counts, default=0)


def sparkline(histogram: dict[int, int], first_ts: float, last_ts: float, max_buckets: int = 36,
              width: int = 180, height: int = 36) -> Sparkline:
    """The buckets from first_ts to last_ts (the last `max_buckets` of them), empty ones as zero."""
    last = int(last_ts // BUCKET_S)
    first = max(int(first_ts // BUCKET_S), last - max_buckets + 1)
    counts = [histogram.get(b, 0) for b in range(first, last + 1)]
    peak = max(max(counts, default=0), 1)
    pad = 2
    step = (width - 2 * pad) / max(len(counts) - 1, 1)
    pts = [(pad + i * step, height - pad - (c / peak) * (height - 2 * pad)) for i, c in enumerate(counts)]
    if len(pts) == 1:  # one bucket: a flat line across
        pts.append((width - pad, pts[0][1]))
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    minutes = len(counts) * BUCKET_S // 60
    label = (f"Berichten per 10 minuten over de laatste {minutes} minuten: {', '.join(map(str, counts))} "
             f"(hoogste {max(counts, default=0)})")
    return Sparkline(points, width, height, counts, label)
