"""Fig. 2f of Zheng et al., ACS Nano 2024: anomalous Hall conductivity σ_AHE(T) and T_c.

For each superlattice, simulated field loops at several temperatures and a field-cooled
M(T) sweep (0.2 T, out of plane) go through the sloxide plans into an embedded catalog
and are read back. ``.sloxide.ahe()`` gives σ_AHE = Δρ_AHE/ρ_xx² at each temperature
(left), ``.sloxide.curie_temperature()`` the tangent-method T_c of M(T) (the inset of
Fig. 2f, middle), and ``.sloxide.ahe_scaling()`` the slope of Δρ_AHE against ρ_xx² over
2–20 K (the scaling of Fig. S3, right), for all samples in one vectorized call.

Run::

    python examples/fig2f_ahe_conductivity_and_tc.py            # figure in ./examples-output
    python examples/fig2f_ahe_conductivity_and_tc.py --quick    # 2 samples, 3 temperatures
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr
from bluesky import RunEngine
from matplotlib.figure import Figure

import sloxide  # noqa: F401  (registers the .sloxide accessor)
from sloxide.analysis.magnetization import substrate_background
from sloxide.catalog import open_catalog, subscribe
from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.io import read_run, read_runs
from sloxide.plans import fc_magnetization, field_loop

# What the paper says of the Δρ_AHE–ρ_xx² scaling (text beside Fig. 2f, Fig. S3).
SCALING_PAPER = {
    "C10/L6": "linear; ≈ 0.2 = 0.03 µΩ·cm/ρ_xx(2 K)²",
    "C10/L2": "not linear: M still rises below 20 K",
}


def show(label: str, value: float, unit: str, paper: str) -> None:
    """Print one reproduced number beside the paper's."""
    print(f"{label:<38} = {value:<9.4g} {unit:<6} (paper: {paper})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples-output"))
    parser.add_argument("--catalog", help="catalog directory (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="fewer samples and temperatures")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        samples = ("C10/L6", "C2/L6")
        temperatures = (2.0, 20.0, 50.0)
        field_step, fc_step = 0.75, 2.0  # T, K
    else:
        samples = ("C10/L2", "C10/L4", "C10/L6", "C10/L8", "C2/L6")
        temperatures = (2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 100.0)
        field_step, fc_step = 0.25, 1.0

    with tempfile.TemporaryDirectory(prefix="sloxide-") as scratch:
        catalog = open_catalog(args.catalog or scratch, create=True)
        RE = RunEngine({})
        subscribe(RE, catalog)
        world = SimWorld(mode="instant", seed=args.seed)
        lab = sim_lab(world)
        hallbar, cryostat = lab["hallbar"], lab["cryostat"]

        ahe, fc, tc = [], {}, {}
        for name in samples:
            world.set_sample(name)  # mount the sample; `sample=` below only records it
            loops = []
            for t in temperatures:
                plan = field_loop(hallbar, cryostat, temperature=t, step=field_step, sample=name)
                loops += RE(plan)
            (fc_uid,) = RE(fc_magnetization(cryostat, step=fc_step, sample=name))

            # Read back: the loops as one stack along temperature, M(T) as one run.
            stack = read_runs([catalog[uid] for uid in loops], along="setpoints.temperature_K")
            ahe.append(stack.sloxide.ahe())
            fc[name] = read_run(catalog[fc_uid])
            tc[name] = fc[name].sloxide.curie_temperature()

    # One Dataset on (sample, temperature): every reduction below is one vectorized call.
    ahe = xr.concat(ahe, dim=xr.DataArray(list(samples), dims="sample", name="sample"))
    scaling = ahe.sloxide.ahe_scaling()  # Δρ_AHE = σ_AH·ρ_xx², fitted over 2–20 K

    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax_sigma, ax_mt, ax_scaling = fig.subplots(1, 3)
    for name in samples:
        # Fig. 2f: σ_AHE(T) = Δρ_AHE/ρ_xx²(H = 0, T).
        (line,) = ax_sigma.plot(temperatures, ahe.sigma_ahe.sel(sample=name), "o-", label=name)
        color = line.get_color()

        # Fig. 2f, inset: FC M(T) at 0.2 T, substrate background removed (as inside
        # curie_temperature), and the tangent whose zero crossing is T_c.
        run, result = fc[name], tc[name]
        film = substrate_background(
            run.cryostat_moment, run.cryostat_temperature, dim="time"
        ).moment
        ax_mt.plot(
            run.cryostat_temperature,
            1e6 * film,
            ".",
            ms=3,
            color=color,
            label=f"{name}, $T_c$ = {float(result.Tc):.1f} K",
        )
        t_line = np.linspace(float(result.T_inflection) - 12, float(result.Tc) + 3, 2)
        tangent = float(result.tangent_slope) * (t_line - float(result.Tc))
        ax_mt.plot(t_line, 1e6 * tangent, "--", color=color, lw=1)

        # Fig. S3: Δρ_AHE against ρ_xx² over 2–20 K, with the fitted slope σ_AH.
        low = ahe.sel(sample=name, temperature=slice(2.0, 20.0))
        rho2 = low.rho_xx**2
        ax_scaling.loglog(rho2, low.delta_rho_ahe, "o", color=color, label=name)
        x = np.array([0.95 * float(rho2.min()), 1.05 * float(rho2.max())])
        ax_scaling.loglog(x, float(scaling.sigma_ah.sel(sample=name)) * x, color=color)
    ax_sigma.set(
        xlabel="T (K)",
        ylabel=r"$\sigma_{xy}^\mathrm{AHE}$ (S/cm)",
        title=r"Fig. 2f: $\sigma_{xy}^\mathrm{AHE}(T)$",
    )
    ax_mt.set(
        xlabel="T (K)",
        ylabel="M (µemu), background removed",
        title="Fig. 2f inset: FC M(T), 0.2 T",
    )
    ax_scaling.set(
        xlabel=r"$\rho_{xx}^2$ ((mΩ·cm)²)",
        ylabel=r"$\Delta\rho_{xy}^\mathrm{AHE}$ (µΩ·cm)",
        title="Fig. S3: AHE scaling, 2–20 K",
    )
    for ax in (ax_sigma, ax_mt, ax_scaling):
        ax.legend(fontsize=8)
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "fig2f_ahe_conductivity_and_tc.png", dpi=150)

    trend = "falls as n falls or m rises"
    for name in samples:
        sigma_2k = float(ahe.sigma_ahe.sel(sample=name, temperature=2.0))
        show(f"{name} σ_AHE (2 K)", sigma_2k, "S/cm", trend)
    for name in samples:
        show(f"{name} T_c (FC M(T), tangent)", float(tc[name].Tc), "K", "~75, all SLs")
    for name in samples:
        slope = float(scaling.sigma_ah.sel(sample=name))
        paper = SCALING_PAPER.get(name, "linear, 2–20 K")
        show(f"{name} σ_AH (Δρ_AHE vs ρ_xx², 2–20 K)", slope, "S/cm", paper)
    print(f"figure: {args.out / 'fig2f_ahe_conductivity_and_tc.png'}")


if __name__ == "__main__":
    main()
