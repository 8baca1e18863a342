"""``python -m ground_truth stamp FILE...``: re-stamp content hashes after a deliberate edit."""
import sys
from pathlib import Path

from ground_truth.loader import stamp

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "stamp":
        sys.exit("usage: python -m ground_truth stamp FILE...")
    for f in sys.argv[2:]:
        print(f, stamp(Path(f)))
