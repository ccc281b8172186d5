"""Ni valence from the Ni L2 white line: a two-Gaussian fit (PHYSICS.md section 4).

:func:`ni_valence` fits the normalized Ni L2 white line with two
area-normalized Gaussians plus a line (PHYSICS.md §4, after Fig. S5b) and
reports the low-energy (Ni²⁺-like) fraction of the two areas. The fit is
:func:`~sloxide.analysis.leastsq.levenberg_marquardt`, batched over every
spectrum at once; the spectra come from
:func:`~sloxide.analysis.xas.normalize_xas`.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError, FitError, SloxideError
from ..units import declare_units, labelled_dataset, units_of, with_attrs
from .chunks import require_single_chunk
from .leastsq import levenberg_marquardt, masked_lstsq, require_fittable
from .xas import energy_grid

__all__ = ["ni_valence"]

FloatArray = NDArray[np.float64]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
# Parameter order of the two-Gaussian model.
_PARAMS = ("area_a", "center_a", "sigma_a", "area_b", "center_b", "sigma_b", "offset", "slope")


def _two_gaussians(
    p: FloatArray, x: FloatArray, jacobian: bool
) -> tuple[FloatArray, FloatArray | None]:
    """Model A_a·G_a + A_b·G_b + offset + slope·x on x = E − E_mid, and its Jacobian."""
    value = p[:, 6, None] + p[:, 7, None] * x[None, :]
    columns = []
    for k in (0, 3):
        area, centre, sigma = p[:, k, None], p[:, k + 1, None], p[:, k + 2, None]
        u = (x[None, :] - centre) / sigma
        g = np.exp(-0.5 * u * u) / (sigma * _SQRT_2PI)
        value = value + area * g
        if jacobian:
            columns += [g, area * g * u / sigma, area * g * (u * u - 1.0) / sigma]
    if not jacobian:
        return value, None
    columns += [np.ones_like(value), np.broadcast_to(x, value.shape)]
    return value, np.stack(columns, axis=-1)


def _valence_kernel(
    spectra: FloatArray,
    *,
    energy: FloatArray,
    window: tuple[float, float],
    start: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    max_iter: int,
    name: str,
) -> tuple[FloatArray, ...]:
    lead = spectra.shape[:-1]
    n = spectra.shape[-1]
    y_all = np.asarray(spectra, dtype=float).reshape(-1, n)
    inside = (energy >= window[0]) & (energy <= window[1])
    # ±inf anywhere is corrupt data, not a missing reading (DESIGN.md), in or out of
    # the window.
    if np.isinf(y_all).any():
        raise DataError(f"{name} contains ±inf; mark bad readings as NaN")
    y = y_all[:, inside]
    # The cost is a sum of squares: 1e-300 spectra underflowed it to 0, and the fit
    # stopped at its start with a ratio of 1.
    require_fittable(y, name)
    finite = np.isfinite(y)
    count = finite.sum(axis=-1)
    if (count <= len(_PARAMS)).any():
        raise FitError(
            f"{name} has only {int(count.min())} finite points in the fit window "
            f"{window[0]:g}–{window[1]:g} eV in at least one spectrum; the two-Gaussian fit "
            f"has {len(_PARAMS)} parameters and needs more points (check the window and the "
            "energy grid)"
        )
    mid = 0.5 * (window[0] + window[1])
    x = energy[inside] - mid
    weight = finite.astype(float)
    y0 = np.where(finite, y, 0.0)
    # Start from the given centres and widths, with areas and background from a linear fit.
    p0 = np.broadcast_to(start, (len(y), len(_PARAMS))).copy()
    p0[:, [1, 4]] -= mid
    _, jac = _two_gaussians(p0, x, jacobian=True)
    assert jac is not None
    linear = jac[..., [0, 3, 6, 7]]
    p0[:, [0, 3, 6, 7]] = masked_lstsq(linear, y0, finite).coef
    # A peak displaced from its start comes out of the linear fit small or negative, and a
    # start there leads into a valley of negative areas: start each at ≥ 20 % of the total.
    floor = 0.2 * np.maximum(np.abs(p0[:, 0]) + np.abs(p0[:, 3]), 1e-12)
    p0[:, [0, 3]] = np.maximum(p0[:, [0, 3]], floor[:, None])
    shift = np.array([0, mid, 0, 0, mid, 0, 0, 0])
    # Typical size of each parameter (areas, offset and slope scale with the data; centres
    # and widths are eV): the floor of the "no longer moves" test. A parameter whose
    # optimum is 0, such as the slope of a flat background, otherwise wanders at rounding
    # level above a 1e-24 floor and the fit never reports converging.
    data_scale = np.max(np.abs(np.where(weight > 0, y0, 0.0)), axis=-1)
    ev = np.ones_like(data_scale)  # in the order of _PARAMS
    typical = np.stack([data_scale, ev, ev, data_scale, ev, ev, data_scale, data_scale], -1)
    result = levenberg_marquardt(
        _two_gaussians,
        x,
        y0,
        weight,
        p0,
        lower - shift,
        upper - shift,
        scale=typical,
        max_iter=max_iter,
    )
    params, cov, converged = result.params, result.cov, result.converged
    value, _ = _two_gaussians(params, x, jacobian=False)
    with np.errstate(invalid="ignore"):
        stderr = result.stderr
    # The centre and width of a peak of zero area are not determined by the data.
    for k in (0, 3):
        stderr[:, k + 1 : k + 3] = np.where(
            (params[:, k] == 0)[:, None], np.nan, stderr[:, k + 1 : k + 3]
        )
    area_a, area_b = params[:, 0], params[:, 3]
    total = area_a + area_b
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = area_a / total
        # d ratio/d(A_a, A_b) = (A_b, −A_a)/(A_a + A_b)², propagated through Cov(A_a, A_b).
        grad = np.stack([area_b, -area_a], axis=-1) / total[:, None] ** 2
        sub = cov[:, [0, 3]][:, :, [0, 3]]
        ratio_err = np.sqrt(np.einsum("si,sij,sj->s", grad, sub, grad))
    fit = np.full_like(y_all, np.nan)
    fit[:, inside] = value
    params = params + shift
    outs = [fit, ratio, ratio_err]
    for k in (1, 4, 2, 5, 0, 3):
        outs += [params[:, k], stderr[:, k]]
    outs += [result.rms, converged.astype(float)]
    return (outs[0].reshape(*lead, n),) + tuple(a.reshape(lead) for a in outs[1:])


@declare_units(
    norm="any",
    energy="eV",
    window="eV",
    center_a="eV",
    center_b="eV",
    center_a_bounds="eV",
    center_b_bounds="eV",
    sigma="eV",
    sigma_bounds="eV",
)
def ni_valence(
    norm: xr.DataArray,
    energy: xr.DataArray | None = None,
    *,
    dim: str = "energy",
    window: tuple[float, float] = (868.5, 873.5),
    center_a: float = 870.2,
    center_b: float = 871.5,
    center_a_bounds: tuple[float, float] = (869.5, 870.8),
    center_b_bounds: tuple[float, float] = (870.9, 872.3),
    sigma: float = 0.5,
    sigma_bounds: tuple[float, float] = (0.15, 1.2),
    nonnegative_areas: bool = True,
    max_iter: int = 200,
) -> xr.Dataset:
    """Ni valence from the two-peak shape of the normalized Ni L2 white line.

    Fits A_a·G(E_a, σ_a) + A_b·G(E_b, σ_b) + c0 + c1·(E − E_mid) on the
    ``window`` (PHYSICS.md §4, paper Fig. S5b), with area-normalized
    Gaussians G (lmfit's ``amplitude``), and reports the low-energy
    (Ni²⁺-like) fraction I_a/(I_a + I_b) from the areas.

    The fit is :func:`~sloxide.analysis.leastsq.levenberg_marquardt` over
    every spectrum at once, each with its own damping and stopping, and box
    bounds on the centres,
    the widths and (by default) the areas, enforced by projection. It starts
    from the given centres and width, with the areas (each at least 20 % of
    their sum) and the line from a linear least-squares fit. Uncertainties
    are ``sqrt(diag(Cov))`` with Cov = σ̂²·(JᵀJ)⁻¹, σ̂² = RSS/(n − 8), from
    the Jacobian J of all eight parameters at the optimum (bounds are not
    treated as active; the centre and width of a peak of zero area get NaN);
    the ratio's error is propagated through the covariance of the two areas.

    Parameters
    ----------
    norm : xarray.DataArray
        Normalized absorption (e.g. ``normalize_xas(...).norm``) over
        ``dim``, any units (areas come out in those units × eV), with any
        extra dims. NaN readings are left out of the fit.
    energy : xarray.DataArray, optional
        Energy along ``dim``, any energy units (default: the ``dim``
        coordinate, which then needs units); shared by all spectra.
    dim : str, default "energy"
        The energy dim; a single dask chunk.
    window : (float, float), default (868.5, 873.5)
        Fit range in eV (inclusive).
    center_a, center_b : float, default 870.2, 871.5
        Starting centres in eV of the low- and high-energy peaks.
    center_a_bounds, center_b_bounds : (float, float), default (869.5, 870.8), (870.9, 872.3)
        Bounds of the centres in eV.
    sigma : float, default 0.5
        Starting Gaussian σ of both peaks in eV.
    sigma_bounds : (float, float), default (0.15, 1.2)
        Bounds of both σ in eV.
    nonnegative_areas : bool, default True
        Keep both areas ≥ 0: they are intensities, and without the bound a
        peak pushed against its centre bound can turn into a negative "peak"
        that fits the shoulder of the other. False leaves them free, like
        lmfit's ``amplitude``.
    max_iter : int, default 200
        Iterations of the Levenberg–Marquardt loop; ``converged`` is False
        for spectra still improving at the end.

    Returns
    -------
    xarray.Dataset
        Per spectrum: ``ratio`` = A_a/(A_a + A_b) and ``ratio_stderr``
        (dimensionless); ``center_a``, ``center_b``, ``sigma_a``,
        ``sigma_b`` (eV) and ``area_a``, ``area_b`` (norm's units × eV),
        each with ``<name>_stderr``; ``residual_rms`` (norm's units) and
        ``converged`` (1.0 or 0.0). ``fit`` has norm's dims: the model on the
        input grid, NaN outside the window.

    Raises
    ------
    FitError
        If a spectrum has 8 or fewer finite points in the window.
    DataError
        If the energy grid is not strictly increasing and shared or does not
        span the window, or the data hold ±inf or reach magnitudes
        outside :data:`~sloxide.analysis.leastsq.FIT_RANGE`.
    UnitsError
        If norm or the energy lacks units or has incompatible ones.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.valence import ni_valence
    >>> e = np.round(np.arange(866.0, 876.05, 0.1), 2)
    >>> def peak(area, centre, sigma):
    ...     return area * np.exp(-0.5 * ((e - centre) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    >>> y = 1.0 + peak(0.4, 870.2, 0.4) + peak(0.6, 871.5, 0.55)
    >>> spectrum = xr.DataArray(y, dims="energy", attrs={"units": "1"},
    ...                         coords={"energy": ("energy", e, {"units": "eV"})})
    >>> out = ni_valence(spectrum)
    >>> round(float(out.ratio), 6), round(float(out.center_b), 6), bool(out.converged)
    (0.4, 871.5, True)
    """
    name = str(norm.name) if norm.name is not None else "norm"
    if dim not in norm.dims:
        raise DataError(f"{name} has dims {norm.dims}, not the energy dim {dim!r}; pass dim=")
    require_single_chunk(norm, dim, name)
    grid = energy_grid(norm, energy, dim, name)
    low, high = sorted(window)
    # A scan that stops inside the window fits the two peaks to half a line, and gave
    # a ratio of 1e-32 without a word: the readings must span the window.
    step = float(np.median(np.diff(grid)))
    if grid[0] > low + step or grid[-1] < high - step:
        raise DataError(
            f"{name} covers {grid[0]:g}-{grid[-1]:g} eV, not the whole fit window "
            f"{low:g}-{high:g} eV; measure across it or pass another window="
        )
    boxes = {"center_a": center_a_bounds, "center_b": center_b_bounds, "sigma": sigma_bounds}
    for label, (lo, hi) in boxes.items():
        if not lo < hi:
            raise SloxideError(
                f"{label}_bounds must be (low, high) with low < high, got {(lo, hi)}"
            )
    for label, value, (lo, hi) in (
        ("center_a", center_a, center_a_bounds),
        ("center_b", center_b, center_b_bounds),
        ("sigma", sigma, sigma_bounds),
    ):
        if not lo <= value <= hi:
            raise SloxideError(f"{label} = {value:g} eV is outside its bounds {(lo, hi)} eV")
    if max_iter < 1:
        raise SloxideError(f"max_iter must be at least 1, got {max_iter!r}")
    inf = np.inf
    start = np.array([0.0, center_a, sigma, 0.0, center_b, sigma, 0.0, 0.0])
    area_min = 0.0 if nonnegative_areas else -inf
    lower = np.array(
        [area_min, center_a_bounds[0], sigma_bounds[0], area_min, center_b_bounds[0]]
        + [sigma_bounds[0], -inf, -inf]
    )
    upper = np.array(
        [inf, center_a_bounds[1], sigma_bounds[1], inf, center_b_bounds[1], sigma_bounds[1]]
        + [inf, inf]
    )
    units = units_of(norm) or "1"
    area_units = "eV" if units in ("1", "", "dimensionless") else f"({units}) * eV"
    outputs = (
        ("fit", units, "two-Gaussian model of the Ni L2 line (NaN outside the window)"),
        ("ratio", "1", "low-energy peak fraction I_a/(I_a + I_b)"),
        ("ratio_stderr", "1", "standard error of I_a/(I_a + I_b)"),
        ("center_a", "eV", "centre of the low-energy peak a"),
        ("center_a_stderr", "eV", "standard error of center_a"),
        ("center_b", "eV", "centre of the high-energy peak b"),
        ("center_b_stderr", "eV", "standard error of center_b"),
        ("sigma_a", "eV", "Gaussian σ of peak a"),
        ("sigma_a_stderr", "eV", "standard error of sigma_a"),
        ("sigma_b", "eV", "Gaussian σ of peak b"),
        ("sigma_b_stderr", "eV", "standard error of sigma_b"),
        ("area_a", area_units, "area I_a of peak a"),
        ("area_a_stderr", area_units, "standard error of area_a"),
        ("area_b", area_units, "area I_b of peak b"),
        ("area_b_stderr", area_units, "standard error of area_b"),
        ("residual_rms", units, "residual standard deviation sqrt(RSS/(n − 8))"),
        ("converged", "1", "1 where the fit converged within max_iter"),
    )
    results = xr.apply_ufunc(
        _valence_kernel,
        norm.pipe(with_attrs),
        input_core_dims=[[dim]],
        output_core_dims=[[dim]] + [[]] * (len(outputs) - 1),
        kwargs={
            "energy": grid,
            "window": (low, high),
            "start": start,
            "lower": lower,
            "upper": upper,
            "max_iter": int(max_iter),
            "name": name,
        },
        dask="parallelized",
        output_dtypes=[float] * len(outputs),
    )
    model = "A_a·G(E_a, σ_a) + A_b·G(E_b, σ_b) + linear"
    out = labelled_dataset(outputs, results, {"window": [low, high], "model": model})
    return out.transpose(*norm.dims, ...)
