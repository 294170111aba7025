"""`python -m benchmarks {decisions|ingest|training|monitoring|reports|all} [--quick]`"""

from __future__ import annotations

import argparse
import importlib
import sys

NAMES = ("decisions", "ingest", "training", "monitoring", "reports")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("name", choices=(*NAMES, "all"))
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    for name in NAMES if args.name == "all" else (args.name,):
        module = importlib.import_module(f"benchmarks.{name}")
        module.run(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
