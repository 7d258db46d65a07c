"""`make bench`: every tests/bench/bench_*.py module's `run()` prints its figures.

Benchmarks are not tests: they measure and print (figures and ratios from one run); nothing here
asserts a time. Run one with `python -m tests.bench routing`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")
    )
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    if not wanted:
        print(f"no benchmark matches {argv}; have: {', '.join(names) or 'none'}")
        return 1
    for name in wanted:
        module = importlib.import_module(f"tests.bench.{name}")
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        module.run()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
