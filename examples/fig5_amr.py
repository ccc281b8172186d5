"""Fig. 5a,d of Zheng et al., ACS Nano 2024: anisotropic magnetoresistance (AMR) rotations.

Simulated rotations of a 9 T field, in the (001) plane (θ from [100], Fig. 5a) and in
the (010) plane (φ from [100] towards [001], Fig. 5d), go through the sloxide plans into
an embedded catalog and are read back. ``.sloxide.amr()`` gives
AMR = (R_θ − R_max)/R_max × 100 % and ``.sloxide.amr_harmonics()`` fits
c0 + c2·cos(2θ − ω2) + c4·cos(4θ − ω4), signed so that c_k < 0 puts valleys at 0°.
The script prints c2 and c4 beside what the paper says of them: the 4-fold valleys of
C2/L6 at n·90° in the (001) plane, and the sign inversion of the 2-fold term of C10/L2
in the (010) plane between 5 and 20 K.

Run::

    python examples/fig5_amr.py            # figure in ./examples-output
    python examples/fig5_amr.py --quick    # 4 rotations in 10° steps
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from bluesky import RunEngine
from matplotlib.figure import Figure

import sloxide  # noqa: F401  (registers the .sloxide accessor)
from sloxide.catalog import open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.io import read_run
from sloxide.plans import amr_rotation

# (plane, temperature in K, sample) of each rotation, and what the paper says of c2, c4.
ROTATIONS = {
    ("(001)", 5.0, "C10/L2"): ("< 0, valleys at θ = 0°, 180°", "~0, 2-fold only"),
    ("(001)", 5.0, "C2/L6"): ("< 0, valleys at θ = 0°, 180°", "< 0, valleys at θ = n·90°"),
    ("(001)", 5.0, "CRO"): ("< 0, valleys at θ = 0°, 180°", "–"),
    ("(001)", 5.0, "LNO"): ("< 0, valleys at θ = 0°, 180°", "–"),
    ("(010)", 5.0, "C10/L2"): ("> 0, valleys at φ = 90°, 270°", "≠ 0, as in bare CRO"),
    ("(010)", 20.0, "C10/L2"): ("< 0, peaks at φ = 90°, 270° from 20 K", "≠ 0"),
    ("(010)", 5.0, "CRO"): ("< 0, peaks at φ = 90°, 270°", "≠ 0, 4-fold"),
}
QUICK = [
    ("(001)", 5.0, "C10/L2"),
    ("(001)", 5.0, "C2/L6"),
    ("(010)", 5.0, "C10/L2"),
    ("(010)", 20.0, "C10/L2"),
]


def show(label: str, value: float, unit: str, paper: str) -> None:
    """Print one reproduced number beside the paper's."""
    print(f"{label:<38} = {value:<9.4g} {unit:<6} (paper: {paper})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output"))
    parser.add_argument("--catalog", help="catalog directory (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="fewer rotations, coarser steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rotations = QUICK if args.quick else list(ROTATIONS)
    step = 10.0 if args.quick else 5.0  # deg

    with tempfile.TemporaryDirectory(prefix="sloxide-") as scratch:
        catalog = open_catalog(args.catalog or scratch, create=True)
        RE = RunEngine({})
        subscribe(RE, catalog)
        world = SimWorld(mode="instant", seed=args.seed)
        lab = sim_lab(world)

        hallbar, cryostat, rotator = lab["hallbar"], lab["cryostat"], lab["rotator"]
        angle, amr, harmonics = {}, {}, {}
        for key in rotations:
            plane, t, name = key
            world.set_sample(name)  # mount the sample; `sample=` below only records it
            plan = amr_rotation(
                hallbar,
                cryostat,
                rotator,
                temperature=t,
                field=9.0,
                plane=plane,
                step=step,
                sample=name,
            )
            (uid,) = RE(plan)
            run = read_run(catalog[uid])
            angle[key] = run.rotator_angle.values  # the readback, in deg
            amr[key] = run.sloxide.amr().amr  # in % of R_max, as in the paper
            harmonics[key] = run.sloxide.amr_harmonics(fit=True)  # 2- and 4-fold, and the model

    fig = Figure(figsize=(10, 5), layout="constrained")
    axes = dict(zip(("(001)", "(010)"), fig.subplots(1, 2, sharey=True), strict=True))
    shift = {"(001)": 0.0, "(010)": 0.0}  # stack each panel's curves 0.5 % apart
    for key in rotations:
        plane, t, name = key
        ax, fit, theta = axes[plane], harmonics[key], angle[key]
        ax.plot(theta, amr[key] + shift[plane], "o", ms=3, label=f"{name}, {t:g} K")
        ax.plot(theta, fit.fit + shift[plane], "k-", lw=1)
        # The fitted 4-fold (red) and 2-fold (green) components about c0, as in Fig. 5a,d.
        for k, color in ((4, "tab:red"), (2, "tab:green")):
            c, omega = float(fit.c.sel(harmonic=k)), float(fit.omega.sel(harmonic=k))
            component = c * np.cos(np.deg2rad(k * theta - omega))
            ax.plot(theta, float(fit.c0) + component + shift[plane], color=color, lw=0.8)
        shift[plane] -= 0.5
    axes["(001)"].set(
        xlabel="θ (deg)",
        ylabel="AMR (%), offset 0.5 % per curve",
        title="Fig. 5a: H (9 T) rotating in the (001) plane",
    )
    axes["(010)"].set(xlabel="φ (deg)", title="Fig. 5d: H (9 T) rotating in the (010) plane")
    for ax in axes.values():
        ax.set_xticks(np.arange(0, 361, 90))
        ax.legend(fontsize=8, loc="lower left")
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "fig5_amr.png", dpi=150)

    for key in rotations:
        plane, t, name = key
        fit, (paper_c2, paper_c4) = harmonics[key], ROTATIONS[key]
        where = f"{name} {plane} {t:g} K"
        show(f"{where} c2", float(fit.c.sel(harmonic=2)), "%", paper_c2)
        show(f"{where} c4", float(fit.c.sel(harmonic=4)), "%", paper_c4)
    print(f"figure: {args.out / 'fig5_amr.png'}")


if __name__ == "__main__":
    main()
