"""`python -m training {validate,report,split,train,export-feedback,import-threads}`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.schema import DataValidationError, LabelConfig


def _labels(path: str | None) -> LabelConfig | None:
    return LabelConfig.from_file(path) if path else None


def cmd_validate(args: argparse.Namespace) -> int:
    from models.data_io import load_answers, load_posts, load_queries

    loader = {"posts": lambda p: load_posts(p, _labels(args.labels)),
              "kb": lambda p: load_answers(p, _labels(args.labels)),
              "queries": lambda p: load_queries(p)}[args.kind]
    rows = loader(args.file)
    print(f"{args.file}: {len(rows)} rows, all valid")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from training.corpus import load_corpus
    from training.report import build_report, render_markdown

    corpus = load_corpus(args.data, _labels(args.labels))
    rep = build_report(corpus.posts, corpus.labels, corpus.kb, corpus.queries)
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=2, ensure_ascii=False))
    print(render_markdown(rep))
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from training.corpus import load_corpus

    corpus = load_corpus(args.data, _labels(args.labels))
    out = Path(args.out or Path(args.data) / "splits")
    corpus.write_splits(out)
    print({s: len(r) for s, r in corpus.posts.splits.items()}, "->", out)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from training.train import run_training_cli

    return run_training_cli(args)


def cmd_export(args: argparse.Namespace) -> int:
    from training.train import reexport

    manifest = reexport(Path(args.model), Path(args.data))
    print(json.dumps({k: manifest.metrics[k] for k in ("onnx_export", "onnx_parity_test")}, indent=2))
    return 0


def cmd_export_openvino(args: argparse.Namespace) -> int:
    from training.export_openvino import add_openvino

    print(json.dumps(add_openvino(Path(args.model), Path(args.data)), indent=2))
    return 0


def cmd_fit_answerability(args: argparse.Namespace) -> int:
    from training.answerability import fit_answerability

    am = fit_answerability(Path(args.data), Path(args.model))
    print(json.dumps({"threshold": am.threshold, "rerank": am.rerank, **am.report}, indent=2))
    return 0


def cmd_fit_lexical(args: argparse.Namespace) -> int:
    from training.lexical_ensemble import fit_lexical

    report = fit_lexical(Path(args.data), Path(args.model))
    print(json.dumps(report, indent=2))
    return 0


def cmd_audit_labels(args: argparse.Namespace) -> int:
    from training.label_audit import AUDITED_SPLITS, run_audit

    counts = run_audit(Path(args.data), Path(args.out))
    print(f"likely label issues in the {' and '.join(AUDITED_SPLITS)} posts: "
          f"{json.dumps(counts)} (total {sum(counts.values())}) -> {args.out}")
    return 0


def cmd_apply_relabels(args: argparse.Namespace) -> int:
    from training.relabel import apply_relabels

    applied = apply_relabels(Path(args.data), Path(args.review))
    for change in applied:
        print(f"{change['id']}: {change['head']} {change['from']} -> {change['to']}")
    print(f"applied {len(applied)} label changes to {Path(args.data) / 'posts.jsonl'}"
          + (f"; now run: python -m training split {args.data}" if applied else " (nothing left to apply)"))
    return 0


def cmd_export_feedback(args: argparse.Namespace) -> int:
    from training.feedback_export import export_feedback

    written, incomplete = export_feedback(args.store, Path(args.out), _labels(args.labels), args.partial)
    print(f"wrote {written} labelled posts to {args.out}"
          + ("" if args.partial else
             f" ({incomplete} feedback rows without every label skipped; --partial keeps them)"))
    return 0


def cmd_import_threads(args: argparse.Namespace) -> int:
    from models.data_io import write_jsonl
    from models.threads import load_threads, training_posts

    engine = None
    if not args.no_store:
        from service.threads import open_engine

        engine = open_engine(args.model, args.store, args.threads)
    labels = _labels(args.labels) or (LabelConfig(dict(engine.model.manifest.label_sets)) if engine else None)
    threads = load_threads(args.file, labels)
    if args.posts_out:
        posts = [p for t in threads for p in training_posts(t)]
        write_jsonl(args.posts_out, posts)
        print(f"wrote {len(posts)} labelled posts (redacted) to {args.posts_out}")
    if engine is not None:
        from service.threads import import_threads

        try:
            result = import_threads(engine, threads)
        finally:
            engine.store.close()
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training")
    sub = parser.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="validate a data file (JSONL, CSV, Parquet or datasets dir)")
    v.add_argument("file")
    v.add_argument("--kind", choices=["posts", "kb", "queries"], default="posts")
    v.add_argument("--labels", help="label config YAML (default: models/labels.yaml)")
    v.set_defaults(func=cmd_validate)
    r = sub.add_parser("report", help="counts, splits, duplicates and diversity of a data directory")
    r.add_argument("data")
    r.add_argument("--labels")
    r.add_argument("--json")
    r.set_defaults(func=cmd_report)
    s = sub.add_parser("split", help="write the fixed train/dev/test split files")
    s.add_argument("data")
    s.add_argument("--labels")
    s.add_argument("--out")
    s.set_defaults(func=cmd_split)
    t = sub.add_parser("train", help="train, calibrate and export the triage model")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--base", default="models/base")
    t.add_argument("--labels")
    t.add_argument("--config", help="training config YAML")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("export", help="re-export a trained model's ONNX graph from its best checkpoint")
    e.add_argument("--model", required=True)
    e.add_argument("--data", default="training/data")
    e.set_defaults(func=cmd_export)
    ov = sub.add_parser("export-openvino", help="add the OpenVINO IR and the runtime parity probe to a trained "
                                                "model, from its best checkpoint")
    ov.add_argument("--model", required=True)
    ov.add_argument("--data", default="training/data")
    ov.set_defaults(func=cmd_export_openvino)
    a = sub.add_parser("fit-answerability", help="fit the answerability model (does this answer solve this post?) "
                                                 "on the train queries, threshold on dev; store it in the model")
    a.add_argument("--model", required=True)
    a.add_argument("--data", default="training/data")
    a.set_defaults(func=cmd_fit_answerability)
    lx = sub.add_parser("fit-lexical", help="fit the lexical heads (TF-IDF + logistic regression, train posts) and "
                                            "their mixing weight (dev); store them in the model")
    lx.add_argument("--model", required=True)
    lx.add_argument("--data", default="training/data")
    lx.set_defaults(func=cmd_fit_lexical)
    au = sub.add_parser("audit-labels", help="list likely mislabelled train/dev posts (cross-validated confident "
                                             "learning with cleanlab) for re-labelling by labels.md")
    au.add_argument("--data", default="training/data")
    au.add_argument("--out", default="training/data/audit/label_issues.jsonl")
    au.set_defaults(func=cmd_audit_labels)
    ap = sub.add_parser("apply-relabels", help="apply the reviewed label changes of an audit review file to "
                                               "posts.jsonl (only lines marked change; idempotent)")
    ap.add_argument("--data", default="training/data")
    ap.add_argument("--review", default="training/data/audit/relabel_review.jsonl")
    ap.set_defaults(func=cmd_apply_relabels)
    f = sub.add_parser("export-feedback", help="write stored feedback as labelled posts (JSONL)")
    f.add_argument("--store", default=None,
                   help="the store: a SQLite path or a store URL (default: the service setting)")
    f.add_argument("--out", required=True)
    f.add_argument("--labels", help="label config YAML (default: models/labels.yaml)")
    f.add_argument("--partial", action="store_true", help="also write feedback that corrects only some labels")
    f.set_defaults(func=cmd_export_feedback)
    it = sub.add_parser("import-threads", help="import a forum thread export: solved threads into the knowledge "
                                               "base, expert records, labelled posts for training")
    it.add_argument("file", help="thread export (labels.md v2): JSONL, CSV, Parquet or a datasets directory")
    it.add_argument("--store", default=None,
                    help="the store: a SQLite path or a store URL (default: the service setting)")
    it.add_argument("--model", default=None, help="served model that embeds the answers (default: the service "
                                                  "setting)")
    it.add_argument("--posts-out", help="write the labelled posts (redacted) as training data (JSONL)")
    it.add_argument("--labels", help="label config YAML (default: the model's label sets)")
    it.add_argument("--no-store", action="store_true", help="only validate and write --posts-out")
    it.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    it.set_defaults(func=cmd_import_threads)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DataValidationError as exc:
        exc.report(":", indent="  ")
        return 1
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
