"""Forum thread exports (labels.md, "Forum thread export", v2): line-level validation and the
conversions both training and the service need, without torch.

- a solved thread (one post with `accepted: true`) becomes one knowledge-base answer
  `thread:<thread_id>` (title from the thread, question from the first post, answer from the
  accepted post, url, updated_at from the accepted post's created_at);
- labelled posts become training rows (labels.md "Labelled posts"), their text redacted;
- timings (time to first answer, time to the accepted solution) and the solver feed the expert
  records and the expected-response figures in the service.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from models.data_io import read_rows
from models.schema import MAX_TEXT_CHARS, DataValidationError, LabelConfig, Problem, duplicate_id_problems

ROLES = ("member", "klantexpert", "webcare", "moderator")
ANSWER_PREFIX = "thread:"
# thread:<thread_id> must be a valid answer id (service.schemas.ID_PATTERN, at most 128 characters)
THREAD_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,120}$")
MAX_POSTS = 1000


def parse_time(value: str) -> datetime | None:
    """ISO 8601 with a time zone (`Z` or an offset); None when it is not one."""
    try:
        t = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo is not None else None


def _text(obj: dict, name: str, where: str, required: bool, problems: list[Problem], file: str, line: int) -> None:
    value = obj.get(name)
    label = f"{where}{name}"
    if value is None:
        if required:
            problems.append(Problem(file, line, label, f"{label} is missing"))
    elif not isinstance(value, str):
        problems.append(Problem(file, line, label, f"{label} must be text, got {type(value).__name__}"))
    elif required and not value.strip():
        problems.append(Problem(file, line, label, f"{label} is empty"))
    elif len(value) > MAX_TEXT_CHARS:
        problems.append(Problem(file, line, label, f"{label} has {len(value)} characters, over {MAX_TEXT_CHARS}"))


def _labels(post: dict, where: str, labels: LabelConfig, problems: list[Problem], file: str, line: int) -> None:
    value = post.get("labels")
    if value is None:
        return
    if not isinstance(value, dict):
        problems.append(Problem(file, line, f"{where}labels", f"{where}labels must be an object"))
        return
    for head, allowed in labels.heads.items():
        v = value.get(head)
        name = f"{where}labels.{head}"
        if v is None or v == "":
            problems.append(Problem(file, line, name, f"{name} is missing"))
        elif v not in allowed:
            problems.append(Problem(file, line, name, f"{name} {v!r} is not one of {', '.join(allowed)}"))


def _post(post: Any, i: int, labels: LabelConfig, problems: list[Problem], file: str, line: int) -> None:
    where = f"posts[{i}]."
    if not isinstance(post, dict):
        problems.append(Problem(file, line, f"posts[{i}]", f"posts[{i}] must be an object"))
        return
    _text(post, "post_id", where, True, problems, file, line)
    _text(post, "body", where, True, problems, file, line)
    author = post.get("author")
    if not isinstance(author, dict):
        problems.append(Problem(file, line, f"{where}author", f"{where}author is missing or not an object"))
    else:
        _text(author, "id", f"{where}author.", True, problems, file, line)
        _text(author, "name", f"{where}author.", False, problems, file, line)
        if author.get("role") not in ROLES:
            problems.append(Problem(file, line, f"{where}author.role",
                                    f"{where}author.role {author.get('role')!r} is not one of {', '.join(ROLES)}"))
    created = post.get("created_at")
    if created is None:
        problems.append(Problem(file, line, f"{where}created_at", f"{where}created_at is missing"))
    elif not isinstance(created, str) or parse_time(created) is None:
        problems.append(Problem(file, line, f"{where}created_at",
                                f"{where}created_at {created!r} is not an ISO 8601 time with a time zone"))
    if not isinstance(post.get("accepted", False), bool):
        problems.append(Problem(file, line, f"{where}accepted", f"{where}accepted must be true or false"))
    kudos = post.get("kudos")
    if kudos is not None and (isinstance(kudos, bool) or not isinstance(kudos, int) or kudos < 0):
        problems.append(Problem(file, line, f"{where}kudos", f"{where}kudos must be a whole number >= 0"))
    _labels(post, where, labels, problems, file, line)


def decode_posts(row: dict) -> dict:
    """CSV and Parquet cells hold `posts` as JSON text; decode it in place (labels.md rows stay as they are)."""
    if isinstance(row.get("posts"), str):
        try:
            row["posts"] = json.loads(row["posts"])
        except json.JSONDecodeError:
            pass  # reported by validate_thread
    return row


def validate_thread(row: dict, labels: LabelConfig, file: str, line: int) -> list[Problem]:
    """Every problem of one thread, each naming its field (`posts[2].author.role`)."""
    problems: list[Problem] = []
    _text(row, "thread_id", "", True, problems, file, line)
    tid = row.get("thread_id")
    if isinstance(tid, str) and tid.strip() and not THREAD_ID_PATTERN.match(tid):
        problems.append(Problem(file, line, "thread_id", f"thread_id {tid!r} must match {THREAD_ID_PATTERN.pattern}"))
    for name in ("title", "url", "board"):
        _text(row, name, "", False, problems, file, line)
    posts = row.get("posts")
    if not isinstance(posts, list) or not posts:
        problems.append(Problem(file, line, "posts", "posts must be a non-empty list of posts"))
        return problems
    if len(posts) > MAX_POSTS:
        problems.append(Problem(file, line, "posts", f"posts has {len(posts)} posts, over {MAX_POSTS}"))
    for i, post in enumerate(posts):
        _post(post, i, labels, problems, file, line)
    dicts = [p for p in posts if isinstance(p, dict)]
    accepted = [i for i, p in enumerate(posts) if isinstance(p, dict) and p.get("accepted") is True]
    if len(accepted) > 1:
        problems.append(Problem(file, line, "posts", "more than one accepted post (posts "
                                + ", ".join(str(i) for i in accepted) + "); a thread has at most one solution"))
    elif accepted == [0]:
        problems.append(Problem(file, line, "posts[0].accepted", "the first post is the question; it cannot be "
                                                                 "the accepted solution"))
    seen: dict[str, int] = {}
    for i, p in enumerate(dicts):
        pid = p.get("post_id")
        if isinstance(pid, str):
            if pid in seen:
                problems.append(Problem(file, line, f"posts[{i}].post_id",
                                        f"post_id {pid!r} repeats posts[{seen[pid]}]"))
            seen.setdefault(pid, i)
    return problems


def check_threads(rows: list[tuple[int, dict]], labels: LabelConfig, file: str) -> list[Problem]:
    """Problems of already-parsed rows (line, row), sorted by line; empty when all are valid."""
    problems = [p for line, row in rows for p in validate_thread(decode_posts(row), labels, file, line)]
    problems += duplicate_id_problems(rows, file, key="thread_id")
    return sorted(problems, key=lambda p: p.line)


def load_threads(path: str | Path, labels: LabelConfig | None = None) -> list[dict[str, Any]]:
    """Threads from JSONL, CSV (`posts` as JSON text), Parquet or a datasets directory; raises
    DataValidationError with every problem (file:line: reason) when any row is invalid."""
    labels = labels or LabelConfig.from_file()
    rows, problems = read_rows(path)
    problems = sorted(problems + check_threads(rows, labels, Path(path).name), key=lambda p: p.line)
    if problems:
        raise DataValidationError(problems)
    return [row for _, row in rows]


# conversions -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ThreadFacts:
    """What the service keeps of one thread (no message text, no asker identity)."""
    thread_id: str
    created_at: str
    labels: dict[str, str] | None      # the question's labels when the export has them
    first_answer_s: float | None       # first post by someone other than the asker
    solution_s: float | None           # accepted post, from the question
    solver_id: str | None
    solver_name: str | None
    solver_role: str | None
    solver_reply_s: float | None       # the solver's first post in the thread, from the question
    solver_last_at: str | None         # the solver's last post in the thread
    content_sha256: str


def accepted_post(thread: dict) -> dict | None:
    return next((p for p in thread["posts"] if p.get("accepted") is True), None)


def answer_id(thread_id: str) -> str:
    return ANSWER_PREFIX + thread_id


def thread_answer(thread: dict) -> dict[str, Any] | None:
    """The knowledge-base answer of a solved thread (labels.md), None when it has no accepted post.
    The text is the forum's public text as published; topic and product come from the question's
    labels when the export has them."""
    solution = accepted_post(thread)
    if solution is None:
        return None
    question = thread["posts"][0]
    title = (thread.get("title") or "").strip() or question["body"].strip().split("\n")[0][:120]
    row: dict[str, Any] = {"id": answer_id(thread["thread_id"]), "title": title, "question": question["body"],
                           "answer": solution["body"], "updated_at": solution["created_at"],
                           "source": "thread", "thread_id": thread["thread_id"]}
    if thread.get("url"):
        row["url"] = thread["url"]
    labels = question.get("labels")
    if isinstance(labels, dict):
        row.update({h: labels[h] for h in ("topic", "product") if labels.get(h)})
    return row


def _seconds(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)


def thread_facts(thread: dict) -> ThreadFacts:
    posts = thread["posts"]
    question = posts[0]
    asker = question["author"]["id"]
    start = parse_time(question["created_at"])
    assert start is not None  # validated
    replies = [p for p in posts[1:] if p["author"]["id"] != asker]
    times = {p["post_id"]: parse_time(p["created_at"]) for p in posts}
    first = min((times[p["post_id"]] for p in replies), default=None)  # type: ignore[type-var]
    solution = accepted_post(thread)
    solver = solution["author"] if solution else None
    own = [times[p["post_id"]] for p in posts if solver and p["author"]["id"] == solver["id"]]
    labels = question.get("labels") if isinstance(question.get("labels"), dict) else None
    return ThreadFacts(
        thread_id=thread["thread_id"], created_at=question["created_at"],
        labels={k: str(v) for k, v in labels.items()} if labels else None,
        first_answer_s=_seconds(start, first) if first else None,
        solution_s=_seconds(start, times[solution["post_id"]]) if solution else None,  # type: ignore[arg-type]
        solver_id=solver["id"] if solver else None, solver_name=(solver.get("name") or None) if solver else None,
        solver_role=solver["role"] if solver else None,
        solver_reply_s=_seconds(start, min(own)) if own else None,  # type: ignore[type-var]
        solver_last_at=max(own).isoformat() if own else None,  # type: ignore[type-var]
        content_sha256=thread_sha256(thread))


def thread_sha256(thread: dict) -> str:
    """Hash of everything an import derives from the thread: unchanged threads are skipped on re-import."""
    return hashlib.sha256(json.dumps(thread, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def training_posts(thread: dict, redact: Any = None) -> list[dict[str, Any]]:
    """The thread's labelled posts as labels.md labelled posts (id `<thread_id>:<post_id>`; the first
    post carries the thread title). `redact` (models.redact.redact) is applied to title and body."""
    if redact is None:
        from models.redact import redact as redact_text
        redact = redact_text
    out = []
    for i, post in enumerate(thread["posts"]):
        labels = post.get("labels")
        if not isinstance(labels, dict):
            continue
        out.append({"id": f"{thread['thread_id']}:{post['post_id']}",
                    "title": redact(thread.get("title") or "") if i == 0 else "",
                    "body": redact(post["body"]), **labels, "thread_id": thread["thread_id"],
                    "created_at": post["created_at"], "author_role": post["author"]["role"]})
    return out
