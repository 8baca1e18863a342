"""``python -m bench.planting NAME [--seed N ...]``: train planted-NAME by SIIT, certify it, write its
weights and ground truth."""
import sys

from bench.planting import RECIPES, recipe
from bench.planting.train import main

if len(sys.argv) < 2 or sys.argv[1] not in RECIPES:
    print(f"usage: python -m bench.planting {{{','.join(RECIPES)}}} [--seed N] [--steps N] (--out-dir DIR | --ship) [--certify-only]",
          file=sys.stderr)
    raise SystemExit(2)
main(recipe(sys.argv[1]), sys.argv[2:])
