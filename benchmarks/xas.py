"""``normalize_xas`` on a stack of spectra against a loop of larch's ``preedge``."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.special import erf

from sloxide.analysis.xas import normalize_xas

from .timing import at_least, at_most, best_of


def _spectra(n_spectra: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    energy = np.round(np.arange(862.0, 885.0, 0.1), 10)  # 230 points, the PHYSICS.md §4 example
    step = 0.35 * 0.5 * (1 + erf((energy - 870.6) / 0.8))
    white = 0.3 * np.exp(-0.5 * ((energy - 871.4) / 0.6) ** 2)
    mu = 0.1 + 0.002 * (energy - 862.0) + step + white
    return energy, mu + 0.0005 * rng.standard_normal((n_spectra, energy.size))


def _numpy_limit(
    energy: np.ndarray,
    mu: np.ndarray,
    e0: float,
    pre1: float,
    pre2: float,
    norm1: float,
    norm2: float,
) -> np.ndarray:
    """The simplest numpy normalization with the windows given: a pre-edge line fitted with
    one pseudo-inverse, a constant post-edge (nnorm = 0, as larch picks for these windows),
    one division. No e0 search, no window rules, no NaN handling: the floor."""
    pre = (energy >= e0 + pre1) & (energy < e0 + pre2)
    post = (energy >= e0 + norm1) & (energy < e0 + norm2)
    line = np.linalg.pinv(np.stack([energy[pre], np.ones(pre.sum())], axis=1))
    slope, offset = (mu[:, pre] @ line.T).T
    flat = mu - (slope[:, None] * energy + offset[:, None])
    return flat / flat[:, post].mean(axis=1, keepdims=True)


def run(n_spectra: int = 10_000, loop_subset: int = 300) -> dict[str, Any]:
    """Time the stacked normalization and a per-spectrum larch loop; return seconds and ratios."""
    energy, mu = _spectra(n_spectra, np.random.default_rng(0))
    da = xr.DataArray(
        mu,
        dims=("spectrum", "energy"),
        coords={"energy": ("energy", energy, {"units": "eV"})},
        attrs={"units": "1"},
    )
    explicit = {"e0": 870.0, "pre1": -8.0, "pre2": -3.0, "norm1": 9.0, "norm2": 15.0}
    t_default = best_of(lambda: normalize_xas(da))
    t_explicit = best_of(lambda: normalize_xas(da, **explicit))
    t_limit = best_of(lambda: _numpy_limit(energy, mu, **explicit))
    figures: dict[str, Any] = {
        "spectra": n_spectra,
        "normalize_xas, default windows (s)": t_default,
        "normalize_xas, explicit e0 and windows (s)": t_explicit,
        "bare numpy, the same windows (s)": t_limit,
        "normalize_xas, explicit / bare numpy": t_explicit / t_limit,
    }
    try:
        from larch.xafs.pre_edge import preedge
    except ImportError:
        figures["larch"] = float("nan")  # install xraylarch --no-deps to compare (README)
        return figures

    subset = mu[:loop_subset]
    t_loop = best_of(lambda: [preedge(energy, row) for row in subset], repeat=1)
    t_loop_explicit = best_of(
        lambda: [preedge(energy, row, **explicit) for row in subset], repeat=1
    )
    scale = n_spectra / loop_subset
    ours = normalize_xas(da.isel(spectrum=slice(0, loop_subset))).norm.values
    theirs = np.stack([preedge(energy, row)["norm"] for row in subset])
    figures.update(
        {
            f"larch preedge loop, scaled from {loop_subset} (s)": t_loop * scale,
            # A 300-spectrum larch loop scaled up against one stacked call: ±30 %. With
            # larch's default windows each spectrum's e0 is searched, which a busy machine
            # slows most (66–151× seen): held to DESIGN.md's 50×, explicit windows to 100×.
            "larch loop / normalize_xas, default": at_least(50.0, t_loop * scale / t_default, 0.3),
            "larch loop / normalize_xas, explicit": at_least(
                100.0, t_loop_explicit * scale / t_explicit, 0.3
            ),
            "max |norm - larch norm| on the subset": at_most(
                1e-6, float(np.max(np.abs(ours - theirs))), 0.0
            ),
        }
    )
    return figures
