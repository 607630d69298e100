"""Turns grading_sheet.txt (the grader's worksheet) into grades.json and notes.json.

    python write_grades.py
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def read_sheet(path: Path) -> tuple[dict, dict]:
    grades: dict[str, dict[str, int]] = {}
    notes: dict[str, dict[str, str]] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(maxsplit=3)
        need, product, grade = parts[0], parts[1], int(parts[2])
        if product in grades.get(need, {}):
            raise SystemExit(f"line {lineno}: {need} {product} graded twice")
        grades.setdefault(need, {})[product] = grade
        if len(parts) == 4:
            notes.setdefault(need, {})[product] = parts[3]
    return grades, notes


def main() -> None:
    grades, notes = read_sheet(HERE / "grading_sheet.txt")
    for name, doc in (("grades.json", grades), ("notes.json", notes)):
        with open(HERE / name, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
