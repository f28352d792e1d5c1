"""Export moderator/klantexpert/webcare corrections as labelled posts (labels.md format).

Only feedback that carries the post text and a label for every head (the route
may come from `route`) is a complete labelled post; with `partial=True` the
other rows are written too, holding just the corrected fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.data_io import write_jsonl
from models.schema import LabelConfig


def feedback_to_post(fb: dict[str, Any]) -> dict[str, Any] | None:
    post = fb.get("post")
    if not post or not (post.get("body") or "").strip():
        return None
    row: dict[str, Any] = {"id": f"fb-{fb['id']}", "title": post.get("title", ""), "body": post["body"]}
    row.update(fb.get("labels", {}))
    if fb.get("route"):
        row["route"] = fb["route"]
    row.update({k: fb[k] for k in ("post_id", "role", "created_at", "solved_by") if fb.get(k)})
    return row


def export_feedback(store_path: str | Path | None, out: Path, labels: LabelConfig | None = None,
                    partial: bool = False) -> tuple[int, int]:
    """Write labelled posts to `out`; return (written, skipped as incomplete)."""
    from service.db.url import parse_store_url
    from service.store import Store

    if store_path is None:
        from service.settings import Settings

        store_path = Settings.model_fields["store_path"].default
    url = parse_store_url(store_path)  # a SQLite path, or a store URL (sqlite:///... or postgresql://...)
    if url.path is not None and not url.path.is_file():
        raise FileNotFoundError(f"{store_path}: no feedback store")
    heads = (labels or LabelConfig.from_file()).heads
    store = Store(url)
    try:
        rows = [r for r in (feedback_to_post(fb) for fb in store.feedback()) if r is not None]
    finally:
        store.close()
    complete = [r for r in rows if all(r.get(h) in heads[h] for h in heads)]
    chosen = rows if partial else complete
    write_jsonl(out, chosen)
    return len(chosen), len(rows) - len(complete)
