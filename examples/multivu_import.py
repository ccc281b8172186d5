"""MultiVu files into sloxide: import a PPMS Hall-loop file and an MPMS3 M(H) loop, reduce.

Quantum Design instruments write MultiVu ``.dat`` files. This script imports two of
them into an embedded catalog with :func:`sloxide.multivu.import_multivu` (what
``sloxide import`` does), one Bluesky run per measurement, reads the runs back with
``read_run`` and reduces them with the accessor, as if sloxide had acquired them:

* ``tests/data/sim_hall_loops_C10L6.dat``: two Hall loops (2 K, 10 K) of C10/L6 from
  the sloxide simulator, written with ``MultiPyVu.DataFile`` (known numbers);
* ``tests/data/mpms3_dc_mvsh_5K.dat``: a real MPMS3 DC M(H) loop at 5 K (MIT, see
  tests/data/README.md), reduced with ``ds.sloxide.hysteresis()``.

Run::

    python examples/multivu_import.py             # figure in ./examples-output
    python examples/multivu_import.py --file my_run.dat --sample "my film"
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from matplotlib.figure import Figure

import sloxide  # noqa: F401  (registers the .sloxide accessor)
from sloxide.catalog import open_catalog
from sloxide.io import read_run
from sloxide.multivu import import_multivu

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
HALL = DATA / "sim_hall_loops_C10L6.dat"
LOOP = DATA / "mpms3_dc_mvsh_5K.dat"


def show(label: str, value: float, unit: str, paper: str) -> None:
    """Print one number beside its reference."""
    print(f"{label:<38} = {value:<9.4g} {unit:<6} (paper: {paper})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output"))
    parser.add_argument("--catalog", help="catalog directory (default: a temporary one)")
    parser.add_argument("--file", type=Path, action="append", help="more MultiVu files")
    parser.add_argument("--sample", default=None, help="sample name for --file")
    parser.add_argument("--quick", action="store_true", help="(the same: the files are small)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sloxide-") as scratch:
        catalog = open_catalog(args.catalog or scratch, create=True)
        geometry = {"width_um": 200.0, "length_um": 1200.0}
        (hall,) = import_multivu([HALL], catalog, sample="C10/L6", hall_bar=geometry)
        (loop,) = import_multivu([LOOP], catalog)
        for path in args.file or []:
            (report,) = import_multivu([path], catalog, sample=args.sample)
            print(f"{path}: {len(report.written)} runs, {len(report.skipped)} already there")

        runs = [read_run(catalog[uid]) for uid in hall.written + hall.skipped]
        runs.sort(key=lambda ds: ds.attrs["sloxide"]["setpoints"]["temperature_K"])
        ahe = [ds.sloxide.ahe(step=0.1) for ds in runs]
        m_h = read_run(catalog[(loop.written + loop.skipped)[0]])
        hyst = m_h.sloxide.hysteresis()

        show("C10/L6 µ0H_C (2 K, imported)", ahe[0].coercive_field.item(), "T", "0.97 T")
        show("C10/L6 Δρ_AHE (2 K, imported)", ahe[0].delta_rho_ahe.item(), "µΩ·cm", "0.03")
        show("MPMS3 loop µ0H_C (5 K)", hyst.coercive_field.item(), "T", "n/a, real data")
        show("MPMS3 loop M_s (5 K)", hyst.saturation_moment.item(), "emu", "n/a, real data")

        figure = Figure(figsize=(10, 4), layout="constrained")
        left, right = figure.subplots(1, 2)
        for ds, result in zip(runs, ahe, strict=True):
            temperature = ds.attrs["sloxide"]["setpoints"]["temperature_K"]
            for branch in ("up", "down"):
                curve = result.rho_ahe.sel(branch=branch)
                left.plot(curve.field, curve, label=f"{temperature:g} K {branch}")
        left.set(xlabel="µ0H (T)", ylabel="ρ_AHE (µΩ·cm)", title="imported PPMS Hall loops")
        left.legend(fontsize="small")
        for branch in ("up", "down"):
            curve = hyst.moment_corrected.sel(branch=branch)
            right.plot(curve.field, curve, label=branch)
        right.set(xlabel="µ0H (T)", ylabel="M − χH (emu)", title="imported MPMS3 M(H), 5 K")
        right.legend()
        args.out.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.out / "multivu_import.png", dpi=120)
        print(f"figure: {args.out / 'multivu_import.png'}")


if __name__ == "__main__":
    main()
