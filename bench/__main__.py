"""Run every benchmark: `python -m bench [relay] [gateway] [roster_import] [whistle]`."""

from __future__ import annotations

import importlib
import sys

BENCHES = ("relay", "gateway", "roster_import", "whistle")


def main(argv: list[str]) -> int:
    for name in argv or BENCHES:
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
