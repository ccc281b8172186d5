"""Drawing the demo's figures: the paper's panels from the stored results.

Each figure draws what :func:`sloxide.demo.compare.gather` read from the stored
results; the two that show raw curves (the M(T) and the AMR polar plot) read their
runs from the catalog through the results' ``raw_uids``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .compare import check_gathered, raw_uid

__all__ = ["write_figures"]


def write_figures(catalog: Any, stored: dict[str, xr.Dataset], out: Path) -> list[Path]:
    """PNG figures of the reproduced results (Agg backend, no display needed).

    Parameters
    ----------
    catalog : tiled client
        The campaign's catalog (for the raw curves).
    stored : dict
        :func:`sloxide.demo.compare.gather`'s output for the whole demo campaign.
    out : pathlib.Path
        The directory the PNG files are written to (made if missing).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> from pathlib import Path
    >>> from sloxide.demo.figures import write_figures
    >>> write_figures(None, {}, Path("unused"))
    Traceback (most recent call last):
    ...
    sloxide.results.ResultsNotFoundError: the catalog has no stored resistivity results of the demo campaign; run sloxide demo (or sloxide reduce on its catalog)
    """
    check_gathered(stored)
    import matplotlib

    from ..analysis.magnetization import substrate_background
    from ..io import read_run

    ahe, mr, xld = stored["ahe"], stored["mr"], stored["xld"]
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def save(fig: Any, name: str) -> None:
        path = out / name
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)

    def raw_run(method: str, **cell: Any) -> xr.Dataset:
        return read_run(raw_uid(stored, method, **cell), catalog=catalog)

    scaling_range = ahe.sel(sample="C10/L6").dropna("temperature", how="all")
    scaling_range = scaling_range.sel(temperature=scaling_range.temperature <= 20.0)
    fig, ax = plt.subplots(figsize=(5, 4))
    for t in scaling_range.temperature.values:
        for branch in ("up", "down"):
            curve = scaling_range.rho_ahe.sel(temperature=t, branch=branch)
            ax.plot(
                curve.field,
                curve,
                color=plt.cm.viridis(t / 25),
                label=f"{t:g} K" if branch == "up" else None,
            )
    ax.set(xlabel="µ0H (T)", ylabel="ρ_AHE (µΩ·cm)", title="C10/L6 anomalous Hall loops (Fig. 2)")
    ax.legend(fontsize=8)
    save(fig, "ahe_loops_c10l6.png")

    fig, ax = plt.subplots(figsize=(5, 4))
    rho = scaling_range.rho_xx
    ax.plot(rho**2, scaling_range.delta_rho_ahe, "o")
    sigma_ah = float(stored["ahe_scaling"].sigma_ah.sel(sample="C10/L6"))
    x = np.linspace(0, float((rho**2).max()) * 1.05, 10)
    ax.plot(x, sigma_ah * x, "-", label=f"σ_AH = {sigma_ah:.3f} S/cm")
    ax.set(xlabel="ρ_xx² ((mΩ·cm)²)", ylabel="Δρ_AHE (µΩ·cm)", title="AHE scaling, C10/L6, 2–20 K")
    ax.legend()
    save(fig, "ahe_scaling_c10l6.png")

    tc = stored["curie_temperature"].sel(sample="C10/L6")
    fc = raw_run("curie_temperature", sample="C10/L6")
    corrected = substrate_background(
        fc.cryostat_moment, fc.cryostat_temperature, dim="time"
    ).moment
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(fc.cryostat_temperature, fc.cryostat_moment * 1e6, ".", color="0.7", label="raw")
    ax.plot(fc.cryostat_temperature, corrected * 1e6, ".", label="substrate subtracted")
    t_line = np.linspace(float(tc.T_inflection) - 15, float(tc.Tc) + 3, 20)
    moment_line = float(tc.tangent_slope) * (t_line - float(tc.Tc))
    ax.plot(t_line, moment_line * 1e6, "k--", label=f"tangent, T_c = {float(tc.Tc):.1f} K")
    ax.set(xlabel="T (K)", ylabel="moment (µemu)", title="FC M(T) at 0.2 T, C10/L6")
    ax.legend()
    save(fig, "mt_c10l6.png")

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5), subplot_kw={"projection": "polar"})
    for sample, ax in zip(("C10/L2", "C2/L6"), axes, strict=True):
        rotation = raw_run("amr_harmonics", sample=sample, plane="(001)", temperature=5.0)
        amr = rotation.sloxide.amr().amr
        theta = np.deg2rad(rotation.rotator_angle.values)
        ax.plot(
            np.r_[theta, theta[:1]], np.r_[amr.values, amr.values[:1]] - float(amr.min()), ".-"
        )
        ax.set_title(f"{sample} AMR − min (%), (001), 5 K, 9 T", fontsize=9)
    save(fig, "amr_polar_001.png")

    rho_t = stored["resistivity"].rho_xx.sel(sample="C10/L6").dropna("time")
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(rho_t.cryostat_temperature, rho_t, ".-")
    ax.set(xlabel="T (K)", ylabel="ρ_xx (mΩ·cm)", title="C10/L6 ρ(T) at zero field (Fig. 1)")
    save(fig, "rho_t_c10l6.png")

    butterfly = mr.mr.sel(sample="C10/L6", temperature=2.0)
    fig, ax = plt.subplots(figsize=(5, 4))
    for branch in ("up", "down"):
        ax.plot(butterfly.field, butterfly.sel(branch=branch), label=branch)
    ax.set(xlabel="µ0H (T)", ylabel="MR (%)", title="C10/L6 MR butterfly at 2 K (Fig. 2)")
    ax.legend()
    save(fig, "mr_butterfly_c10l6.png")

    for edge, panel in (("Ni L2", "4b"), ("O K", "4c")):
        pair = xld.sel(sample="C2/L2", edge=edge).dropna("energy", how="all")
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(pair.energy, pair.I_ab, label="I_ab (E ⊥ c)")
        ax.plot(pair.energy, pair.I_c, label="I_c (E ∥ c)")
        ax.plot(pair.energy, 5 * pair.xld, label="5 × XLD (I_ab − I_c)")
        ax.set(xlabel="E (eV)", ylabel="normalized TEY", title=f"C2/L2 {edge} XLD (Fig. {panel})")
        ax.legend()
        save(fig, f"xld_{edge.lower().replace(' ', '_')}_c2l2.png")
    return paths
