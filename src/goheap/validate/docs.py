"""Refresh the measured section of docs/fidelity.md from a ``goheap validate --json`` report.

    goheap validate --runs 10 --json validate.json -f
    python -m goheap.validate.docs validate.json docs/fidelity.md

The section between the two generated-section markers is replaced; the
rest of the document is left as it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from goheap.outputs import write_file
from goheap.validate.render import refresh_doc


def main(argv: list[str] | None = None) -> int:
    """Replace the generated section of DOC with REPORT's table; 2 on a usage error."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m goheap.validate.docs REPORT.json DOC.md", file=sys.stderr)
        return 2
    report_path, doc_path = Path(args[0]), Path(args[1])
    try:
        report = json.loads(report_path.read_text())
        text = doc_path.read_text()
        write_file(doc_path, refresh_doc(text, report))  # whole or not at all
    except (OSError, ValueError, KeyError) as e:
        print(f"goheap.validate.docs: error: {e}", file=sys.stderr)
        return 2
    print(f"{doc_path}: measured section refreshed from {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
