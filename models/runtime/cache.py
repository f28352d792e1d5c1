"""The compiled-model cache: one folder per OpenVINO IR, stale folders of other models removed.

OpenVINO writes a compiled blob (about 95 MB for the default model) into the cache folder it
is given. Each IR gets its own folder, named by the first 16 hex digits of its sha256, so a
blob is never offered to another model. Every retrained model would leave its folder behind;
`model_cache_folder` therefore marks the folder in use (its mtime) and removes sibling folders
of that shape not used for `keep_days`. Replicas sharing one cache root keep theirs: each start
refreshes its own folder's mtime, and a removed blob only costs the next start a compile.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

_FOLDER = re.compile(r"^[0-9a-f]{16}$")
KEEP_DAYS = 7.0


def model_cache_folder(root: Path, ir_sha: str, keep_days: float = KEEP_DAYS) -> tuple[Path, list[str]]:
    """The cache folder of the IR with this sha256 under `root` (created and marked as used now),
    and the names of stale sibling folders removed."""
    folder = Path(root) / ir_sha[:16]
    folder.mkdir(parents=True, exist_ok=True)
    return folder, mark_used_and_prune(folder, _FOLDER, keep_days)


def mark_used_and_prune(folder: Path, shape: re.Pattern[str], keep_days: float = KEEP_DAYS) -> list[str]:
    """Mark `folder` as used now (its mtime) and remove its sibling folders whose names have `shape`
    and that were not used for `keep_days`; the names removed."""
    os.utime(folder)
    cutoff = time.time() - keep_days * 86400
    removed = []
    for other in folder.parent.iterdir():
        if other == folder or not other.is_dir() or not shape.match(other.name):
            continue  # only folders this module made: never a file or a folder someone else put there
        if other.stat().st_mtime < cutoff:
            shutil.rmtree(other, ignore_errors=True)
            removed.append(other.name)
    return removed
