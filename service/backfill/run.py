"""The backfill run: read and check the input (inputs.py), triage the pending partitions on Ray Data
(`map_batches` over a fixed pool of TriageWorker actors, one model per worker), write each partition
as `part-NNNNN.parquet` when all its rows are back (written to a temporary name, then renamed), with
its bad rows in `errors/part-NNNNN.jsonl`. A rerun skips partitions whose Parquet file exists, so an
interrupted backfill resumes where it stopped. Ray is imported here only."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.backfill.inputs import Problem, Row, read_rows

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Summary:
    rows: int = 0  # posts triaged in this run
    bad_rows: int = 0  # rows reported in errors/ (this run)
    partitions_written: list[int] = field(default_factory=list)
    partitions_skipped: list[int] = field(default_factory=list)  # already done (resume)
    seconds: float = 0.0

    @property
    def posts_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "bad_rows": self.bad_rows, "partitions_written": len(self.partitions_written),
                "partitions_skipped": len(self.partitions_skipped), "seconds": round(self.seconds, 2),
                "posts_per_s": round(self.posts_per_s, 1)}


def part_name(partition: int) -> str:
    return f"part-{partition:05d}"


def done_partitions(output: Path) -> set[int]:
    return {int(p.stem.split("-")[1]) for p in output.glob("part-*.parquet")}


def _write_partition(output: Path, partition: int, tables: list[Any], problems: list[Problem]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    errors = output / "errors" / f"{part_name(partition)}.jsonl"
    if problems:
        errors.parent.mkdir(exist_ok=True)
        tmp = errors.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(p.as_dict(), ensure_ascii=False) + "\n" for p in problems),
                       encoding="utf-8")
        os.replace(tmp, errors)
    if tables:
        table = pa.concat_tables(tables, promote_options="default")
        order = sorted(range(table.num_rows), key=lambda i: (table["source"][i].as_py(), table["line"][i].as_py()))
        table = table.take(order)
    else:  # every row of this partition was bad: an empty part marks it done
        table = pa.table({"partition": pa.array([], pa.int64()), "source": pa.array([], pa.string()),
                          "line": pa.array([], pa.int64()), "post_id": pa.array([], pa.string())})
    final = output / f"{part_name(partition)}.parquet"
    tmp = final.with_suffix(".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, final)  # the partition is done only once its file is complete


def init_ray(address: str | None, workers: int) -> None:
    import ray

    if ray.is_initialized():
        return
    if address:  # a cluster: the wegwijzer package and the model must be on its nodes
        ray.init(address=address, logging_level=logging.WARNING)
    else:  # local: this checkout on the workers' path
        ray.init(num_cpus=max(os.cpu_count() or 1, workers), include_dashboard=False, logging_level=logging.WARNING,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})


def backfill(input_path: Path, output: Path, model_dir: str, store_url: str, *, address: str | None = None,
             workers: int = 1, batch_size: int = 64, partition_size: int = 1000, threads_per_worker: int = 1,
             max_body_chars: int = 20_000, max_title_chars: int = 300, progress: bool = True) -> Summary:
    import pyarrow as pa
    import ray
    from tqdm import tqdm

    from service.backfill.worker import TriageWorker

    start = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    done = done_partitions(output)
    items: list[dict[str, Any]] = []
    expected: Counter[int] = Counter()
    problems: dict[int, list[Problem]] = defaultdict(list)
    seen: set[int] = set()
    for r in read_rows(input_path, partition_size, max_body_chars, max_title_chars):
        seen.add(r.partition)
        if r.partition in done:
            continue
        if isinstance(r, Row):
            items.append({"partition": r.partition, "source": r.source, "line": r.line, "post_id": r.post_id,
                          "post": r.post})
            expected[r.partition] += 1
        else:
            problems[r.partition].append(r)
    summary.partitions_skipped = sorted(seen & done)
    summary.bad_rows = sum(len(p) for p in problems.values())
    pending = sorted(seen - done)
    for p in [p for p in pending if expected[p] == 0]:  # nothing to triage in it
        _write_partition(output, p, [], problems.pop(p, []))
        summary.partitions_written.append(p)
    if items:
        init_ray(address, workers)
        ray.data.DataContext.get_current().enable_progress_bars = False  # one bar: ours, in posts
        source = ray.data.from_items(items, override_num_blocks=max(1, min(len(items) // batch_size, 200)))
        ds = source.map_batches(
            TriageWorker, fn_constructor_kwargs={"model_dir": str(model_dir), "store_url": store_url,
                                                 "threads": threads_per_worker},
            batch_size=batch_size, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=threads_per_worker)
        buffers: dict[int, list[pa.Table]] = defaultdict(list)
        got: Counter[int] = Counter()
        with tqdm(total=len(items), unit="post", disable=not progress, desc="backfill") as bar:
            for out in ds.iter_batches(batch_format="pyarrow", batch_size=None):
                batch: pa.Table = out  # pyarrow, as asked
                partitions = batch["partition"].to_numpy()
                for p in set(partitions.tolist()):
                    part = batch.filter(pa.array(partitions == p))
                    buffers[p].append(part)
                    got[p] += part.num_rows
                    if got[p] == expected[p]:
                        _write_partition(output, p, buffers.pop(p), problems.pop(p, []))
                        summary.partitions_written.append(p)
                bar.update(batch.num_rows)
        summary.rows = len(items)
    summary.partitions_written.sort()
    summary.seconds = time.perf_counter() - start
    return summary
