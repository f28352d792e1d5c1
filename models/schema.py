"""Label configuration and row validation for posts, knowledge-base answers and queries.

Label sets come from a YAML config (default: `models/labels.yaml`) or are
inferred from the data, never from constants in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_LABELS = Path(__file__).with_name("labels.yaml")
POST_TEXT_FIELDS = ("id", "title", "body", "thread_id", "created_at", "language")
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class DataValidationError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def report(self, headline: str, indent: str = "") -> None:
        """Print `N problem(s) found<headline>` and every problem to stderr (CLIs exit 1 after this)."""
        import sys

        print(f"{len(self.problems)} problem(s) found{headline}", file=sys.stderr)
        for problem in self.problems:
            print(f"{indent}{problem}", file=sys.stderr)


@dataclass
class LabelConfig:
    heads: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_LABELS) -> LabelConfig:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML ({exc})") from exc
        heads = raw.get("heads") if isinstance(raw, dict) else None
        if not isinstance(heads, dict) or not heads:
            raise ValueError(f"{path}: needs a non-empty 'heads' mapping of head -> list of labels")
        for head, labels in heads.items():
            if not isinstance(labels, list) or len(labels) < 2 or len(set(map(str, labels))) != len(labels):
                raise ValueError(f"{path}: head {head!r} needs a list of at least two distinct labels")
            # YAML reads bare yes/no/on/off/null as booleans/None: str() would silently turn them
            # into 'True'/'False'/'None', labels that no data row uses.
            odd = [v for v in labels if v is None or isinstance(v, bool)]
            if odd:
                raise ValueError(f"{path}: head {head!r}: label {odd[0]!r} is not text; quote it in the YAML "
                                 f"(e.g. \"yes\", \"no\")")
        return cls({str(h): [str(v) for v in labels] for h, labels in heads.items()})

    @classmethod
    def infer(cls, rows: list[dict[str, Any]], heads: list[str]) -> LabelConfig:
        """Label sets as found in the data, in order of first appearance."""
        found: dict[str, list[str]] = {h: [] for h in heads}
        for row in rows:
            for h in heads:
                v = row.get(h)
                if isinstance(v, str) and v and v not in found[h]:
                    found[h].append(v)
        return cls(found)


def _text(row: dict, name: str, required: bool, problems: list[Problem], file: str, line: int) -> None:
    value = row.get(name)
    if value is None:
        if required:
            problems.append(Problem(file, line, name, f"{name} is missing"))
        return
    if not isinstance(value, str):
        problems.append(Problem(file, line, name, f"{name} must be text, got {type(value).__name__}"))
    elif required and not value.strip():
        problems.append(Problem(file, line, name, f"{name} is empty"))
    elif len(value) > MAX_TEXT_CHARS:
        problems.append(Problem(file, line, name,
                                f"{name} has {len(value)} characters, over {MAX_TEXT_CHARS}"))


def validate_post(row: dict, labels: LabelConfig, file: str, line: int) -> list[Problem]:
    problems: list[Problem] = []
    _text(row, "id", True, problems, file, line)
    _text(row, "body", True, problems, file, line)
    _text(row, "title", False, problems, file, line)
    for head, allowed in labels.heads.items():
        value = row.get(head)
        if value is None or value == "":
            problems.append(Problem(file, line, head, f"{head} is missing"))
        elif value not in allowed:
            problems.append(Problem(file, line, head, f"{head} {value!r} is not one of {', '.join(allowed)}"))
    return problems


def validate_answer(row: dict, labels: LabelConfig | None, file: str, line: int) -> list[Problem]:
    problems: list[Problem] = []
    for name in ("id", "title", "answer"):
        _text(row, name, True, problems, file, line)
    for name in ("question", "url"):
        _text(row, name, False, problems, file, line)
    for head in ("topic", "product"):
        value = row.get(head)
        allowed = labels.heads.get(head) if labels else None
        if value not in (None, "") and allowed and value not in allowed:
            problems.append(Problem(file, line, head, f"{head} {value!r} is not one of {', '.join(allowed)}"))
    return problems


def validate_query(row: dict, file: str, line: int, known_answers: set[str] | None = None) -> list[Problem]:
    problems: list[Problem] = []
    _text(row, "id", True, problems, file, line)
    _text(row, "body", True, problems, file, line)
    _text(row, "title", False, problems, file, line)
    rel = row.get("relevant")
    if not isinstance(rel, list) or not all(isinstance(r, str) for r in rel):
        problems.append(Problem(file, line, "relevant", "relevant must be a list of answer ids"))
    elif known_answers is not None:
        for r in rel:
            if r not in known_answers:
                problems.append(Problem(file, line, "relevant",
                                        f"relevant id {r!r} is not in the knowledge base"))
    return problems


def duplicate_id_problems(rows: list[tuple[int, dict]], file: str, key: str = "id") -> list[Problem]:
    """A problem for every row whose `key` repeats an earlier row's."""
    seen: dict[str, int] = {}
    problems = []
    for line, row in rows:
        rid = row.get(key)
        if isinstance(rid, str):
            if rid in seen:
                problems.append(Problem(file, line, key, f"{key} {rid!r} repeats line {seen[rid]}"))
            else:
                seen[rid] = line
    return problems
