"""Where the benchmarks find real clips: ../shared/data beside the repository (the full shared test
data), else the small corpus in tests/data (gmd and stickflow only), said in one line on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
BUNDLED = REPO / "tests" / "data"


def data_dir(script: str, need: tuple[str, ...] = ("gmd",)) -> Path:
    """../shared/data if present; else tests/data if it has every folder in `need` (with one line
    on stderr: the figures are then not comparable with the full data's); else exit with one line."""
    if SHARED.is_dir():
        return SHARED
    missing = [n for n in need if not (BUNDLED / n).is_dir()]
    if missing:
        raise SystemExit(f"{script}: needs ../shared/data beside the repository ({SHARED} is missing; "
                         f"tests/data has no {', '.join(missing)})")
    print(f"{script}: {SHARED} is missing: using the small corpus in {BUNDLED} "
          f"(figures not comparable with the full data's)", file=sys.stderr, flush=True)
    return BUNDLED
