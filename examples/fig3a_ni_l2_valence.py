"""Fig. 3a,b of Zheng et al., ACS Nano 2024: Ni L2 XAS and the relative intensity of peak a.

For each sample a simulated XLD pair of Ni L2 spectra (TEY at 90° and 30° incidence)
goes through the sloxide plans into an embedded catalog and is read back as one
Dataset on (incidence_angle, energy). ``.sloxide.normalize_xas()`` normalizes both
spectra with one e0 and one set of windows, ``.sloxide.xld()`` gives the isotropic
spectrum (Fig. 3a) and ``.sloxide.ni_valence()`` fits it with two Gaussians, peak a
(Ni²⁺, ~870.2 eV) and peak b (~871.5 eV), for I_a/(I_a + I_b) (Fig. 3b).

Run::

    python examples/fig3a_ni_l2_valence.py            # figure in ./examples-output
    python examples/fig3a_ni_l2_valence.py --quick    # 3 samples, 0.2 eV steps
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
from sloxide.io import read_runs
from sloxide.plans import xld_scan

SAMPLES = ("C10/L2", "C10/L4", "C10/L6", "C10/L8", "C2/L6", "C2/L2", "LNO")
# --quick: enough for both trends, with n (C2/L6 → C10/L6) and with m (C10/L2 → C10/L6).
QUICK_SAMPLES = ("C10/L2", "C10/L6", "C2/L6")
# One e0 and one set of windows (eV from e0) for every spectrum (docs/physics.md), so that
# the samples are normalized alike.
NI_L2 = {"e0": 870.0, "pre1": -8.0, "pre2": -3.0, "norm1": 9.0, "norm2": 15.0}


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
    samples = QUICK_SAMPLES if args.quick else SAMPLES
    regions = (862.0, 0.2 if args.quick else 0.1, 885.0)  # (start, step, stop) in eV

    with tempfile.TemporaryDirectory(prefix="sloxide-") as scratch:
        catalog = open_catalog(args.catalog or scratch, create=True)
        RE = RunEngine({})
        subscribe(RE, catalog)
        world = SimWorld(mode="instant", seed=args.seed)
        lab = sim_lab(world)

        spectra, valence = {}, {}
        for name in samples:
            world.set_sample(name)  # mount the sample; `sample=` below only records it
            pair = RE(xld_scan(lab["beamline"], edge="Ni L2", regions=regions, sample=name))
            # Read back: the two runs of the pair on (incidence_angle, energy).
            ds = read_runs([catalog[uid] for uid in pair], along="xas.incidence_angle_deg")
            normalized = ds.sloxide.normalize_xas(**NI_L2)
            spectra[name] = normalized.sloxide.xld().iso
            valence[name] = normalized.sloxide.ni_valence()  # fits the isotropic spectrum

    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax_xas, ax_ratio = fig.subplots(1, 2, width_ratios=(3, 2))
    # Fig. 3a: normalized isotropic Ni L2 XAS, offset vertically.
    for i, (name, iso) in enumerate(spectra.items()):
        ax_xas.plot(iso.energy, iso + 1.5 * i, label=name)
    for peak in ("center_a", "center_b"):  # dashed guides at the fitted peak positions
        energy = np.median([float(v[peak]) for v in valence.values()])
        ax_xas.axvline(energy, color="0.5", ls="--", lw=0.8)
    ax_xas.set(
        xlabel="E (eV)",
        ylabel="normalized XAS, offset (arb. units)",
        title="Fig. 3a: Ni L2 XAS (isotropic)",
        xlim=(866, 878),
    )
    ax_xas.legend(fontsize=8, reverse=True)
    # Fig. 3b: relative intensity of peak a, with its standard error.
    names = list(valence)
    ratios = [float(valence[n].ratio) for n in names]
    errors = [float(valence[n].ratio_stderr) for n in names]
    ax_ratio.errorbar(range(len(names)), ratios, yerr=errors, fmt="o", capsize=3)
    ax_ratio.set_xticks(range(len(names)), names, rotation=45)
    ax_ratio.set(ylabel=r"$I_a/(I_a + I_b)$", title="Fig. 3b: relative intensity of peak a")
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "fig3a_ni_l2_valence.png", dpi=150)

    for name, ratio in zip(names, ratios, strict=True):
        show(f"{name} I_a/(I_a + I_b)", ratio, "", "rises with n, falls with m (Fig. 3b)")
    print(f"figure: {args.out / 'fig3a_ni_l2_valence.png'}")


if __name__ == "__main__":
    main()
