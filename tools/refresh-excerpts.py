#!/usr/bin/env python3
"""Refreshes the example excerpts in docs/*.md from the golden reports.

An excerpt is a fenced block right after a line that says "the whole report is
`docs/examples/X.txt`": its first line names a finding ("1. [FAILURE] ...
(rule-id)"); the block becomes that finding's lines in X.txt, up to the first
blank line. With --check, changes nothing and exits 1 when an excerpt differs
(the golden test runs it so). Run by tools/rule-examples.sh.
"""
import pathlib
import re
import sys

top = pathlib.Path(__file__).resolve().parent.parent
finding = re.compile(r"^\d+\. \[[A-Z]+\] .*\(([a-z-]+)\)$")


def excerpt(report: str, rule: str) -> list:
    lines = report.split("\n")
    for i, line in enumerate(lines):
        m = finding.match(line)
        if m and m.group(1) == rule:
            out = []
            for l in lines[i:]:
                if not l.strip():
                    break
                out.append(l)
            return out
    raise SystemExit(f"no finding of rule {rule} in the report")


def refresh(doc: pathlib.Path, check: bool) -> bool:
    text = doc.read_text()
    lines = text.split("\n")
    changed = False
    i = 0
    while i < len(lines):
        m = re.search(r"the whole report is `(docs/examples/[^`]+\.txt)`", lines[i])
        if m and i + 2 < len(lines) and lines[i + 2] == "```":
            start = i + 3
            end = lines.index("```", start)
            fm = finding.match(lines[start])
            if not fm:
                raise SystemExit(f"{doc}:{start + 1}: an excerpt must start with a finding's line")
            new = excerpt((top / m.group(1)).read_text(), fm.group(1))
            if lines[start:end] != new:
                changed = True
                if check:
                    print(f"{doc.relative_to(top)}:{start + 1}: the excerpt differs from {m.group(1)}")
                lines[start:end] = new
                end = start + len(new)
            i = end
        i += 1
    if changed and not check:
        doc.write_text("\n".join(lines))
    return changed


check = "--check" in sys.argv
differs = False
for doc in sorted((top / "docs").glob("*.md")) + [top / "README.md"]:
    differs |= refresh(doc, check)
sys.exit(1 if (check and differs) else 0)
