"""Fig. 2a of Zheng et al., ACS Nano 2024: longitudinal resistivity ρ_xx(T) of the C_n/L_m SLs.

A simulated R(T) sweep (300 → 2 K, zero field) of each superlattice goes through the
sloxide plans into an embedded catalog, is read back and converted to resistivity with
the Hall-bar geometry and film thickness the plan recorded. The script prints ρ_xx at
300 K beside the paper's values and redoes the paper's parallel-resistor estimate of
C10/L6 from the CRO and LNO layer resistivities deduced from C10/L2 and C2/L6.

Run::

    python examples/fig2a_resistivity.py            # figure in ./examples-output
    python examples/fig2a_resistivity.py --quick    # 4 samples, 21 temperatures instead of 150
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from bluesky import RunEngine
from matplotlib.figure import Figure

import sloxide  # noqa: F401  (registers the .sloxide accessor)
from sloxide.analysis.multilayer import parallel_resistivity, superlattice_thickness
from sloxide.catalog import open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.io import read_run
from sloxide.plans import rt_sweep
from sloxide.units import ureg

SAMPLES = ("C10/L2", "C10/L4", "C10/L6", "C10/L8", "C2/L6", "C2/L2")
# --quick: the samples the paper's parallel-resistor estimate and C2/L2 comparison need.
QUICK_SAMPLES = ("C10/L2", "C10/L6", "C2/L6", "C2/L2")


def show(label: str, value: float, unit: str, paper: str) -> None:
    """Print one reproduced number beside the paper's."""
    print(f"{label:<38} = {value:<9.4g} {unit:<6} (paper: {paper})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output"))
    parser.add_argument("--catalog", help="catalog directory (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="fewer samples, coarser steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sloxide-") as scratch:
        catalog = open_catalog(args.catalog or scratch, create=True)
        RE = RunEngine({})
        subscribe(RE, catalog)
        world = SimWorld(mode="instant", seed=args.seed)
        lab = sim_lab(world)

        # Acquire: one R(T) run per sample, 300 → 2 K at 21 (--quick) or 150 temperatures.
        step = (300.0 - 2.0) / (20 if args.quick else 149)
        uids = {}
        for name in QUICK_SAMPLES if args.quick else SAMPLES:
            world.set_sample(name)  # mount the sample; `sample=` below only records it
            (uids[name],) = RE(rt_sweep(lab["hallbar"], lab["cryostat"], step=step, sample=name))

        # Read back and reduce: ρ_xx = R_xx·w·t/L, geometry and thickness from the run.
        rho = {}
        for name, uid in uids.items():
            ds = read_run(catalog[uid])
            rho_xx = ds.sloxide.resistivity().rho_xx
            temperature = ds.cryostat_temperature_setpoint.values
            rho[name] = rho_xx.assign_coords(temperature=("time", temperature)).swap_dims(
                time="temperature"
            )

    # Fig. 2a: ρ_xx(T); C2/L2 is 2–3 orders of magnitude above the others, hence log y.
    fig = Figure(figsize=(5, 4.2), layout="constrained")
    ax = fig.subplots()
    for name, curve in rho.items():
        ax.semilogy(curve.temperature, curve, label=name)
    ax.set(
        xlabel="T (K)",
        ylabel=r"$\rho_{xx}$ (mΩ·cm)",
        title=r"Fig. 2a: $\rho_{xx}(T)$ of the C$_n$/L$_m$ SLs",
    )
    ax.legend(fontsize=8)
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "fig2a_resistivity.png", dpi=150)

    # The paper's numbers (text beside Fig. 2a).
    rho300 = {n: ureg.Quantity(float(c.sel(temperature=300.0)), c.units) for n, c in rho.items()}
    show("C10/L6 ρ_xx(300 K)", rho300["C10/L6"].to("mohm*cm").magnitude, "mΩ·cm", "~0.60")
    # The 2-uc layers do not conduct [paper], so the 10-uc CRO carries all the current of
    # C10/L2 and the 6-uc LNO all of C2/L6: ρ_layer = ρ_SL·t_layer/t_SL.
    t_cro, t_lno = superlattice_thickness(10, 0), superlattice_thickness(0, 6)
    rho_cro = rho300["C10/L2"] * t_cro / superlattice_thickness(10, 2)
    rho_lno = rho300["C2/L6"] * t_lno / superlattice_thickness(2, 6)
    model = parallel_resistivity([rho_cro, rho_lno], [t_cro, t_lno])
    show("ρ_CRO(300 K), 10 uc, from C10/L2", rho_cro.to("mohm*cm").magnitude, "mΩ·cm", "~1.72")
    show("ρ_LNO(300 K), 6 uc, from C2/L6", rho_lno.to("mohm*cm").magnitude, "mΩ·cm", "~0.30")
    show("C10/L6 ρ(300 K), parallel model", model.to("mohm*cm").magnitude, "mΩ·cm", "~0.62")
    t_min = float(rho["C2/L2"].temperature.min())
    others = [float(c.sel(temperature=t_min)) for n, c in rho.items() if n != "C2/L2"]
    ratio = float(rho["C2/L2"].sel(temperature=t_min)) / max(others)
    show(f"log10 ρ(C2/L2)/ρ(others) at {t_min:.0f} K", np.log10(ratio), "", "2–3")
    print(f"figure: {args.out / 'fig2a_resistivity.png'}")


if __name__ == "__main__":
    main()
