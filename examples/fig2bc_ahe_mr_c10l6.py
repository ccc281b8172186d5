"""Fig. 2b,c of Zheng et al., ACS Nano 2024: AHE loops and MR butterflies of C10/L6.

Simulated Hall-bar field loops (0 → +9 → −9 → +9 T) of the C10/L6 superlattice at
several temperatures go through the sloxide plans into an embedded catalog, are read
back as one stack along temperature and reduced with ``.sloxide.ahe()`` (ordinary Hall
part removed, Fig. 2b) and ``.sloxide.mr()`` (Fig. 2c). The script prints R0, Δρ_AHE,
H_C and the butterfly peak at 2 K and the MR at 9 T beside the paper's values.

Run::

    python examples/fig2bc_ahe_mr_c10l6.py            # figure in ./examples-output
    python examples/fig2bc_ahe_mr_c10l6.py --quick    # 2 temperatures, 0.25 T steps
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib
from bluesky import RunEngine
from matplotlib.figure import Figure

import sloxide  # noqa: F401  (registers the .sloxide accessor)
from sloxide.catalog import open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.io import read_runs
from sloxide.plans import field_loop

SAMPLE = "C10/L6"


def mr_paper(temperature: float) -> str:
    """The paper's MR at 9 T (text beside Fig. 2c)."""
    if temperature <= 20:
        return "~-0.65 from 2 to 20 K"
    return "~-0.06" if temperature == 50 else "> 0 above 100 K" if temperature >= 100 else "–"


def show(label: str, value: float, unit: str, paper: str) -> None:
    """Print one reproduced number beside the paper's."""
    print(f"{label:<38} = {value:<9.4g} {unit:<6} (paper: {paper})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output"))
    parser.add_argument("--catalog", help="catalog directory (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="fewer temperatures, coarser field")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    temperatures = (2.0, 100.0) if args.quick else (2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
    step = 0.25 if args.quick else 0.05  # T; 9 T must be a multiple of it

    with tempfile.TemporaryDirectory(prefix="sloxide-") as scratch:
        catalog = open_catalog(args.catalog or scratch, create=True)
        RE = RunEngine({})
        subscribe(RE, catalog)
        lab = sim_lab(SimWorld(sample=SAMPLE, mode="instant", seed=args.seed))

        # Acquire: one field loop per temperature.
        hallbar, cryostat = lab["hallbar"], lab["cryostat"]
        uids = []
        for t in temperatures:
            uids += RE(field_loop(hallbar, cryostat, temperature=t, step=step, sample=SAMPLE))

        # Read back as one Dataset on (temperature, point) and reduce all loops at once.
        loops = read_runs([catalog[uid] for uid in uids], along="setpoints.temperature_K")
        ahe = loops.sloxide.ahe()
        # The butterfly peaks are refined by a parabola within ±peak_window: give it a
        # few grid points whatever the field step.
        mr = loops.sloxide.mr(peak_window=2 * step)

    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_ahe, ax_mr = fig.subplots(1, 2)
    colors = matplotlib.colormaps["coolwarm"].resampled(len(temperatures))
    for i, t in enumerate(ahe.temperature.values):
        for branch in ("up", "down"):
            label = f"{t:g} K" if branch == "up" else None
            # Fig. 2b: ρ_xy^AHE, the ordinary Hall term R0·µ0H removed.
            curve = ahe.rho_ahe.sel(temperature=t, branch=branch)
            ax_ahe.plot(curve.field, curve, color=colors(i), label=label)
            # Fig. 2c: MR butterflies, offset vertically as in the paper.
            curve = mr.mr.sel(temperature=t, branch=branch)
            ax_mr.plot(curve.field, curve + i, color=colors(i), label=label)
    ax_ahe.set(
        xlabel=r"$\mu_0H$ (T)",
        ylabel=r"$\rho_{xy}^\mathrm{AHE}$ (µΩ·cm)",
        title=f"Fig. 2b: AHE of {SAMPLE}",
    )
    ax_mr.set(
        xlabel=r"$\mu_0H$ (T)",
        ylabel="MR (%), offset by 1 % per curve",
        title=f"Fig. 2c: MR of {SAMPLE}",
    )
    ax_ahe.legend(fontsize=8)
    ax_mr.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "fig2bc_ahe_mr_c10l6.png", dpi=150)

    at2 = ahe.sel(temperature=2.0)
    show("C10/L6 R0 (2 K)", float(at2.R0), "µΩ·cm/T", "> 0, hole carriers")
    show("C10/L6 Δρ_AHE (2 K)", float(at2.delta_rho_ahe), "µΩ·cm", "0.03")
    show("C10/L6 µ0H_C (2 K)", float(at2.coercive_field), "T", "0.97")
    peak = float(mr.peak_field.sel(temperature=2.0, branch="up"))
    show("C10/L6 MR peak field (2 K, up)", peak, "T", "at +H_C")
    for t in ahe.temperature.values:
        mr_9t = float(mr.mr_max_field.sel(temperature=t))
        show(f"C10/L6 MR (9 T, {t:g} K)", mr_9t, "%", mr_paper(t))
    print(f"figure: {args.out / 'fig2bc_ahe_mr_c10l6.png'}")


if __name__ == "__main__":
    main()
