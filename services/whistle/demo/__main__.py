"""Load the whistle demo data once: `python -m whistle.demo` (migrates first; a second run does nothing).

`WHISTLE_DEMO_RECORDS` (else `DEMO_RECORDS`) says how many whistles:
`full` (or `all`, the default: 8,325, the source's year), `small` (400,
for tests) or `none` (the departments projection only); `DEMO_SEED` the random seed. Prints the time it took
and the whistles by state, kind and street.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kit.config import Settings
from whistle.demo import BATCH, DEFAULT_SEED, SIZES, load, state_counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load the Guandu demo whistles into the whistle service")
    parser.parse_args(argv)
    size = os.environ.get("WHISTLE_DEMO_RECORDS") or os.environ.get("DEMO_RECORDS", "all")
    if size not in SIZES:
        print(f"whistle: DEMO_RECORDS is one of {', '.join(SIZES)}, not {size!r}", file=sys.stderr)
        return 2
    seed = int(os.environ.get("DEMO_SEED", DEFAULT_SEED))
    settings = Settings.from_env("whistle")

    def progress(done: int, total: int) -> None:
        if done % 1000 < BATCH or done == total:
            print(f"whistle: {done} of {total} whistles lived", flush=True)

    done = load(settings, size=size, seed=seed, progress=progress)
    if not done.loaded:
        print(f"whistle: demo data already loaded ({done.message}); nothing done")
        return 0
    print(
        f"whistle: demo data loaded in {done.seconds:.1f}s ({done.cpu_seconds:.1f}s of CPU; {done.whistles} whistles, "
        f"{done.facts} facts, "
        f"{done.departments} departments, seed {seed}, DEMO_RECORDS={size})"
    )
    counts = state_counts(settings.database_url)
    for name in ("state", "kind", "street", "overdue", "facts"):
        line = ", ".join(f"{k} {n}" for k, n in sorted(counts[name].items(), key=lambda kv: -kv[1]))
        print(f"whistle: by {name}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
