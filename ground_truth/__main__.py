"""``python -m ground_truth stamp FILE...`` re-stamps content hashes after a deliberate edit;
``python -m ground_truth build FILE...`` rewrites each file's edges from its construction, then stamps."""
import sys
from pathlib import Path

from bench.errors import CdbenchError
from ground_truth.build import rebuild
from ground_truth.loader import stamp


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("stamp", "build"):
        print("usage: python -m ground_truth {stamp|build} FILE...", file=sys.stderr)
        return 2
    act = stamp if argv[0] == "stamp" else rebuild
    try:
        for f in argv[1:]:
            print(f, act(Path(f)))
    except CdbenchError as exc:
        print(f"ground_truth: error: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"ground_truth: error: {argv[1]}: construction names unknown rule or field {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
