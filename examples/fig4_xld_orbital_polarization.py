"""Fig. 4b,c of Zheng et al., ACS Nano 2024: Ni L2 and O K XLD of C2/L2, orbital polarization.

Simulated XLD pairs of the C2/L2 superlattice (TEY at 90° and 30° incidence) at the
Ni L2 and O K edges go through the sloxide plans into an embedded catalog and are read
back, each pair as one Dataset on (incidence_angle, energy). ``.sloxide.xld()`` gives
I_ab (E ∥ [100]), I_c (E ∥ [001], geometry corrected) and XLD = I_ab − I_c;
``.sloxide.orbital_polarization()`` turns the Ni L2 pair into the hole ratio and the
d_x²−y² orbital polarization P, and ``band_integrals`` averages the O K XLD over the
paper's bands (positive on the Ru t2g and Ru eg bands).

Run::

    python examples/fig4_xld_orbital_polarization.py            # figure in ./examples-output
    python examples/fig4_xld_orbital_polarization.py --quick    # 0.2 eV steps
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bluesky import RunEngine
from matplotlib.figure import Figure

import sloxide  # noqa: F401  (registers the .sloxide accessor)
from sloxide.analysis.xld import O_K_BANDS, band_integrals
from sloxide.catalog import open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.io import read_runs
from sloxide.plans import xld_scan

SAMPLE = "C2/L2"
# (start, stop) of each edge's scan, in eV.
SCANS = {"Ni L2": (862.0, 885.0), "O K": (520.0, 550.0)}
# One e0 and one set of windows (eV from e0) for both angles of a pair (docs/physics.md).
# The O K pre-edge window ends at 525 eV, below the dichroic Ru t2g pre-peak at ~528 eV:
# a window reaching into it gives the two angles different edge steps, and a spurious XLD.
WINDOWS = {
    "Ni L2": {"e0": 870.0, "pre1": -8.0, "pre2": -3.0, "norm1": 9.0, "norm2": 15.0},
    "O K": {"e0": 532.0, "pre1": -12.0, "pre2": -7.0, "norm1": 12.0, "norm2": 18.0},
}


def show(label: str, value: float, unit: str, paper: str) -> None:
    """Print one reproduced number beside the paper's."""
    print(f"{label:<38} = {value:<9.4g} {unit:<6} (paper: {paper})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output"))
    parser.add_argument("--catalog", help="catalog directory (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="coarser energy steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    step = 0.2 if args.quick else 0.1  # eV

    with tempfile.TemporaryDirectory(prefix="sloxide-") as scratch:
        catalog = open_catalog(args.catalog or scratch, create=True)
        RE = RunEngine({})
        subscribe(RE, catalog)
        lab = sim_lab(SimWorld(sample=SAMPLE, mode="instant", seed=args.seed))

        normalized = {}
        for edge, (start, stop) in SCANS.items():
            regions = (start, step, stop)
            pair = RE(xld_scan(lab["beamline"], edge=edge, regions=regions, sample=SAMPLE))
            # Read back: the two runs of the pair on (incidence_angle, energy).
            ds = read_runs([catalog[uid] for uid in pair], along="xas.incidence_angle_deg")
            normalized[edge] = ds.sloxide.normalize_xas(**WINDOWS[edge])

    xld = {edge: spectra.sloxide.xld() for edge, spectra in normalized.items()}
    polarization = normalized["Ni L2"].sloxide.orbital_polarization()  # n_eg = 1
    bands = band_integrals(xld["O K"].xld)  # the paper's O K bands, average XLD in each

    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = dict(zip(("Ni L2", "O K"), fig.subplots(1, 2), strict=True))
    for (edge, ax), panel in zip(axes.items(), ("4b", "4c"), strict=True):
        out = xld[edge]
        ax.plot(out.energy, out.I_ab, label=r"$I_{ab}$ (E ∥ [100])")
        ax.plot(out.energy, out.I_c, label=r"$I_c$ (E ∥ [001])")
        ax.plot(out.energy, out.xld, label=r"XLD = $I_{ab} - I_c$")
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.set(
            xlabel="E (eV)",
            ylabel="normalized XAS (arb. units)",
            title=f"Fig. {panel}: {edge} XLD of {SAMPLE}",
        )
        ax.legend(fontsize=8)
    # Shade the two bands where the paper finds positive O K XLD (Ru t2g, then Ru eg).
    for band, shade in (("Ru t2g", "0.8"), ("Ru eg", "0.92")):
        axes["O K"].axvspan(*O_K_BANDS[band], color=shade, zorder=0)
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "fig4_xld_orbital_polarization.png", dpi=150)

    p, x = 100 * float(polarization.P), float(polarization.hole_ratio)
    show(f"{SAMPLE} orbital polarization P", p, "%", "19")
    show(f"{SAMPLE} hole ratio X (h_z/h_x)", x, "", "> 1, d_x²−y² preferred")
    for band in ("Ru t2g", "Ru eg"):
        low, high = O_K_BANDS[band]
        average = float(bands.average.sel(band=band))
        show(f"O K XLD, {band} band ({low}–{high} eV)", average, "", "> 0")
    print(f"figure: {args.out / 'fig4_xld_orbital_polarization.png'}")


if __name__ == "__main__":
    main()
