"""Run the benchmarks and print every figure as a ratio against its in-process baseline."""

from __future__ import annotations

import argparse

from . import amr, catalog, demo, devices, epics, find_runs, reduce, xas


def _print(title: str, figures: dict[str, float]) -> None:
    print(f"\n{title}")
    for name, value in figures.items():
        print(f"  {name:<55} {value:>12.4g}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10x smaller sizes")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    _print("amr_harmonics", amr.run(n_curves=100_000 // scale))
    _print("amr_harmonics on dask, streamed", amr.streaming(n_curves=100_000 // scale))
    _print("normalize_xas", xas.run(n_spectra=10_000 // scale))
    _print("sim devices in a RunEngine", devices.run(points=1801 if scale == 1 else 401))
    _print("EPICS devices over Channel Access", epics.run(points=601 if scale == 1 else 201))
    _print("read_run", catalog.run(step=0.04 if scale == 1 else 0.2))
    _print("sloxide reduce", reduce.run(loops=24 if scale == 1 else 8))
    _print("find_runs", find_runs.run(n_runs=2000 if scale == 1 else 200))
    if not args.quick:  # the quick suite runs in CI, where the tests already run the demo
        _print("sloxide demo", demo.run())


if __name__ == "__main__":
    main()
