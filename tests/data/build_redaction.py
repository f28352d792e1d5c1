"""Build `redaction.jsonl` from `redaction_src.txt`, computing span offsets from the marked substrings.

Each source line is one post. `{TYPE|text}` marks personal data of TYPE (PERSOON, TELEFOON, EMAIL, IBAN, BSN, ADRES,
POSTCODE, KLANTNUMMER, IMEI); `{KEEP|text}` marks a tricky non-personal string that must survive redaction; a literal
`\\n` is a line break. Posts alternate between the `dev` split (looked at while building the redactor) and the `test`
split (only measured). Run: `python tests/data/build_redaction.py`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
MARK = re.compile(r"\{([A-Z]+)\|([^{}]+)\}")
TYPES = {"PERSOON", "TELEFOON", "EMAIL", "IBAN", "BSN", "ADRES", "POSTCODE", "KLANTNUMMER", "IMEI"}


def parse(line: str) -> dict:
    """Plain text plus the offsets of every marked substring."""
    source = line.replace("\\n", "\n")
    text, spans, keep, pos = [], [], [], 0
    length = 0
    for m in MARK.finditer(source):
        before = source[pos:m.start()]
        text.append(before)
        length += len(before)
        kind, value = m.group(1), m.group(2)
        if kind != "KEEP" and kind not in TYPES:
            raise ValueError(f"unknown type {kind!r} in {line!r}")
        entry = {"start": length, "end": length + len(value)}
        (keep if kind == "KEEP" else spans).append(entry | ({"text": value} if kind == "KEEP" else {"type": kind}))
        text.append(value)
        length += len(value)
        pos = m.end()
    text.append(source[pos:])
    plain = "".join(text)
    if "{" in plain or "}" in plain:
        raise ValueError(f"unbalanced marker in {line!r}")
    for s in keep:
        assert plain[s["start"]:s["end"]] == s["text"]
    return {"text": plain, "spans": spans, "keep": keep}


def build(src: Path = HERE / "redaction_src.txt", out: Path = HERE / "redaction.jsonl") -> int:
    lines = [ln for ln in src.read_text(encoding="utf-8").splitlines() if ln.strip()]
    with out.open("w", encoding="utf-8") as f:
        for i, line in enumerate(lines, start=1):
            record = {"id": f"r-{i:03d}", "split": "dev" if i % 2 else "test", **parse(line)}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(lines)


if __name__ == "__main__":
    print(f"{build()} posts written")
