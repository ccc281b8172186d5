"""Run the benchmarks and print every figure as a ratio against its in-process baseline.

Each figure with a target prints it beside the value, with pass or MISS; ``--check``
exits non-zero when any figure misses its target by more than its stated noise margin.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from . import amr, catalog, demo, devices, epics, facility, find_runs, reduce, xas
from .timing import Figure

#: The benchmarks by name, for ``python -m benchmarks NAME ...``.
NAMES = ("amr", "xas", "devices", "epics", "catalog", "reduce", "find_runs", "facility", "demo")


def _print(title: str, figures: Mapping[str, float | Figure]) -> list[str]:
    """Print one benchmark's figures; return the names of those that missed."""
    print(f"\n{title}")
    missed = []
    for name, item in figures.items():
        figure = item if isinstance(item, Figure) else Figure(float(item))
        target = f"target {figure.target}" if figure.target else ""
        print(f"  {name:<58} {figure.value:>12.4g}  {target:<22} {figure.status}")
        if figure.status == "MISS":
            missed.append(f"{title}: {name}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10x smaller sizes")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a figure misses its target"
    )
    parser.add_argument(
        "--plot",
        metavar="PNG",
        help="only draw amr_harmonics' time against stack size (docs/performance.md) to PNG",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"run only these benchmarks, of {', '.join(NAMES)} (default: all)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    if args.plot:
        amr.plot_scaling(args.plot)
        return 0
    scale = 10 if args.quick else 1
    missed: list[str] = []
    chosen = set(args.names or NAMES)
    # The AMR targets are for a large stack (DESIGN.md): at 10,000 curves the fixed cost
    # of one xarray call is a fifth of a bare matmul's, so quick mode halves the size only.
    if "amr" in chosen:
        missed += _print(
            "amr_harmonics",
            amr.run(n_curves=100_000 // min(scale, 2), loop_subset=200 // min(scale, 4)),
        )
        # Streaming is judged over many chunks (of 5,000 curves): 10 and 20 even in quick mode.
        missed += _print(
            "amr_harmonics on dask, streamed", amr.streaming(n_curves=100_000 // min(scale, 2))
        )
    if "xas" in chosen:
        # normalize_xas's target is for 10,000 spectra too; the larch loop is what quick trims.
        missed += _print("normalize_xas", xas.run(n_spectra=10_000, loop_subset=300 // scale))
    if "devices" in chosen:
        missed += _print(
            "sim devices in a RunEngine", devices.run(points=1801 if scale == 1 else 401)
        )
    if "epics" in chosen:
        missed += _print(
            "EPICS devices over Channel Access", epics.run(points=601 if scale == 1 else 201)
        )
    if "catalog" in chosen:
        missed += _print("read_run", catalog.run(step=0.04 if scale == 1 else 0.2))
        missed += _print("many runs read together", catalog.many(n_runs=200 if scale == 1 else 30))
    if "reduce" in chosen:
        missed += _print(
            "sloxide reduce",
            reduce.run(n_runs=500 if scale == 1 else 40, read_run_subset=50 if scale == 1 else 15),
        )
    if "find_runs" in chosen:
        missed += _print("find_runs", find_runs.run(n_runs=2000 if scale == 1 else 200))
    if "facility" in chosen:
        # 4 writers and 4 readers at once either way; quick mode writes a loop and a pair each.
        missed += _print(
            "the facility: sloxide serve on PostgreSQL, 4 writers, 4 readers, dask",
            facility.run(runs=8 if scale == 1 else 2, workers=2 if scale == 1 else 1),
        )
    # The quick suite runs in CI, where the tests already run the demo.
    if "demo" in chosen and not (args.quick and not args.names):
        missed += _print("sloxide demo", demo.run())
    if missed:
        print("\nmissed their targets:\n  " + "\n  ".join(missed))
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
