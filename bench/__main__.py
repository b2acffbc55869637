"""Run every benchmark module: each ``bench/*_bench.py`` that defines ``main()``.

``python -m bench`` runs them all (alphabetically); ``python -m bench runtime webapp`` runs only
those. Each writes its JSON under ``bench/results/``. The exit status is non-zero if any failed.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Module names (``runtime_bench`` …) of the benchmarks in this folder."""
    return sorted(path.stem for path in HERE.glob("*_bench.py"))


def main(argv: list[str]) -> int:
    """Run the selected (or all) benchmarks; returns the exit status."""
    names = discover()
    if argv:
        wanted = {name if name.endswith("_bench") else f"{name}_bench" for name in argv}
        unknown = wanted - set(names)
        if unknown:
            print(
                f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(names)}",
                file=sys.stderr,
            )
            return 2
        names = [name for name in names if name in wanted]
    failed: list[str] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if not callable(run):
            continue
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            status = run()
        except Exception:
            traceback.print_exc()
            status = 1
        print(
            f"== {name}: {'ok' if not status else 'FAILED'} in {time.monotonic() - started:.1f}s", flush=True
        )
        if status:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
