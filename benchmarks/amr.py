"""``amr_harmonics`` on a large stack against a raw numpy least-squares pass and a per-curve loop."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import curve_fit

from sloxide.analysis.amr import amr_harmonics, design_matrix

from .timing import best_of


def _model(
    theta_rad: np.ndarray, c0: float, c2: float, w2: float, c4: float, w4: float
) -> np.ndarray:
    return c0 + c2 * np.cos(2 * theta_rad - w2) + c4 * np.cos(4 * theta_rad - w4)


def run(n_curves: int = 100_000, n_angles: int = 360, loop_subset: int = 200) -> dict[str, float]:
    """Time the three ways of fitting ``n_curves`` AMR curves; return seconds and ratios."""
    rng = np.random.default_rng(0)
    theta = np.arange(n_angles) * 360.0 / n_angles
    truth = _model(np.deg2rad(theta), 0.0, 0.3, np.deg2rad(10.0), 0.05, 0.0)
    y = truth + 0.005 * rng.standard_normal((n_curves, n_angles))
    da = xr.DataArray(
        y,
        dims=("curve", "angle"),
        coords={"angle": ("angle", theta, {"units": "deg"})},
        attrs={"units": "percent"},
    )
    design = design_matrix(theta, [2, 4])

    def raw() -> None:
        np.linalg.lstsq(design, y.T, rcond=None)

    def ours() -> None:
        amr_harmonics(da)

    def loop() -> None:
        t = np.deg2rad(theta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in y[:loop_subset]:
                curve_fit(_model, t, row, p0=(0.0, 0.3, 0.1, 0.05, 0.1))

    def lmfit_loop() -> None:
        import lmfit

        model = lmfit.Model(_model, independent_vars=["theta_rad"])
        params = model.make_params(c0=0.0, c2=0.3, w2=0.1, c4=0.05, w4=0.1)
        t = np.deg2rad(theta)
        for row in y[:loop_subset]:
            model.fit(row, params, theta_rad=t)

    t_raw = best_of(raw)
    t_ours = best_of(ours)
    t_loop = best_of(loop, repeat=1) * n_curves / loop_subset
    figures: dict[str, float] = {}
    try:
        t_lmfit = best_of(lmfit_loop, repeat=1) * n_curves / loop_subset
        figures = {
            f"lmfit Model.fit loop, scaled from {loop_subset} (s)": t_lmfit,
            "lmfit loop / amr_harmonics (target >= 1000)": t_lmfit / t_ours,
        }
    except ImportError:
        figures = {"lmfit loop": float("nan")}
    return {
        "curves": n_curves,
        "angles": n_angles,
        "raw numpy lstsq (s)": t_raw,
        "amr_harmonics (s)": t_ours,
        f"scipy curve_fit loop, scaled from {loop_subset} (s)": t_loop,
        "amr_harmonics / raw numpy (target <= 2)": t_ours / t_raw,
        "curve_fit loop / amr_harmonics": t_loop / t_ours,
        **figures,
    }


def _streaming_peak(n_curves: int, n_angles: int, chunk: int) -> float:
    import tracemalloc

    import dask.array

    theta = np.arange(n_angles) * 360.0 / n_angles
    truth = _model(np.deg2rad(theta), 0.0, 0.3, np.deg2rad(10.0), 0.05, 0.0)
    noise = dask.array.random.default_rng(0).standard_normal(
        (n_curves, n_angles), chunks=(chunk, n_angles)
    )
    da = xr.DataArray(
        truth + 0.005 * noise,
        dims=("curve", "angle"),
        coords={"angle": ("angle", theta, {"units": "deg"})},
        attrs={"units": "percent"},
    )
    lazy = amr_harmonics(da)
    tracemalloc.start()
    lazy.c.compute(scheduler="threads")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return float(peak)


def streaming(
    n_curves: int = 100_000, n_angles: int = 360, chunk: int = 5_000
) -> dict[str, float]:
    """Peak traced memory of a lazy dask fit of N and 2N curves: bounded if it does not grow."""
    peak = _streaming_peak(n_curves, n_angles, chunk)
    peak_double = _streaming_peak(2 * n_curves, n_angles, chunk)
    return {
        "stack size, N curves (MB)": n_curves * n_angles * 8 / 1e6,
        "peak traced memory, N curves (MB)": peak / 1e6,
        "peak traced memory, 2N curves (MB)": peak_double / 1e6,
        "peak(2N) / peak(N) (bounded: about 1)": peak_double / peak,
    }
