"""Write the provisioning events' JSON Schemas to docs/events/ (``make event-schemas``).

The schemas are generated from the pydantic models in `core.events.models`; a test checks that the
committed files are exactly what this writes, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from core.events import json_schemas

DEFAULT_DIRECTORY = Path("docs/events")


def write_schemas(directory: Path = DEFAULT_DIRECTORY) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for detail_type, schema in json_schemas().items():
        path = directory / f"{detail_type}.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    for path in write_schemas(Path(args[0]) if args else DEFAULT_DIRECTORY):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
