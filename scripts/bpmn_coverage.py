"""Import and run BPMN model collections; print their tables or write them into docs/bpmn.md.

Usage: DJANGO_SETTINGS_MODULE=dikom.conf.ci .venv/bin/python scripts/bpmn_coverage.py [--write] [FOLDER]

Without FOLDER: every collection of ``dikom.cases.bpmn.coverage.COLLECTIONS`` (the BPMN MIWG reference
models in ../shared/standards/bpmn-miwg, the Camunda 7 and Camunda 8 examples in
src/dikom/cases/tests/bpmn/); with --write the part of docs/bpmn.md between each collection's
markers is replaced. With FOLDER: that folder's table is printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    django.setup()
    from django.utils import translation

    from dikom.cases.bpmn.coverage import COLLECTIONS, assess_folder, markers, table

    args = [a for a in argv if a != "--write"]
    with translation.override("en"):
        if args:
            print(table(assess_folder(Path(args[0]))))
            return 0
        texts = {name: table(assess_folder(folder)) for name, folder in COLLECTIONS.items()}
    if "--write" not in argv:
        for name, text in texts.items():
            print(f"## {name}\n\n{text}")
        return 0
    docs = ROOT / "docs" / "bpmn.md"
    content = docs.read_text()
    for name, text in texts.items():
        begin, end = markers(name)
        start, stop = content.index(begin) + len(begin), content.index(end)
        content = content[:start] + "\n" + text + content[stop:]
    docs.write_text(content)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
