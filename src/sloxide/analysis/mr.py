"""Magnetoresistance of binned field loops (PHYSICS.md section 2).

MR = [ρ_xx(H) − ρ_xx(0)]/ρ_xx(0) × 100 % on each symmetrized branch. The
butterfly peaks (up branch near +H_C, down branch near −H_C) are located by
the arg-max and refined with a least-squares parabola.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError, SloxideError
from ..units import declare_units, labelled_dataset
from .leastsq import local_polyfit, require_fittable
from .loops import field_grid_of, require_branches, symmetrize

__all__ = ["magnetoresistance"]

FloatArray = NDArray[np.float64]

#: Half-width in T of the parabola through a butterfly peak on a fine (≤ 0.05 T) grid.
DEFAULT_PEAK_WINDOW = 0.1


_OUTPUTS = (
    ("mr", "percent", "magnetoresistance [ρ_xx(H) − ρ_xx(0)]/ρ_xx(0)"),
    ("peak_field", "T", "butterfly peak field"),
    ("peak_mr", "percent", "MR at the butterfly peak"),
    ("mr_max_field", "percent", "MR at the largest field, averaged over the branches"),
    ("max_field", "T", "|µ0H| at which mr_max_field is taken"),
)


def _mr_kernel(
    rho_xx: FloatArray, h: FloatArray, peak_max_field: float, peak_window: float
) -> tuple[FloatArray, ...]:
    if np.isinf(rho_xx).any():
        raise DataError("rho_xx contains ±inf; mark missing readings as NaN instead")
    # The parabola through the peak squares the field (MR itself is a ratio of ρ_xx).
    require_fittable(h, "the field", "T")
    sym = symmetrize(rho_xx)
    zero = int(np.argmin(np.abs(h)))
    at_zero = sym[..., zero]
    if (~np.isfinite(at_zero) | (at_zero == 0)).any():
        raise DataError(
            "rho_xx has no finite, non-zero value at µ0H = 0 on a branch; MR needs the "
            "zero-field resistivity of both branches"
        )
    mr = 100.0 * (sym - at_zero[..., None]) / at_zero[..., None]
    finite = np.isfinite(mr)
    reach = np.max(np.where(finite, np.abs(h), 0.0), axis=(-2, -1))
    search = np.full(reach.shape, peak_max_field) if np.isfinite(peak_max_field) else 0.5 * reach
    inside = (np.abs(h) <= search[..., None, None]) & finite
    k = np.argmax(np.where(inside, mr, -np.inf), axis=-1)
    guess = h[k]
    # An arg-max on the edge of the search range is a rising background, not a peak.
    step = h[1] - h[0]
    interior = np.abs(guess) < search[..., None] - 0.5 * step
    fit = local_polyfit(h, mr, np.where(interior, guess, np.nan), peak_window, 2)
    c0, c1, c2 = (fit.coef[..., i] for i in range(3))
    # Both ends of each branch's search range, to test that the peak stands out.
    lo = np.argmax(inside, axis=-1)
    hi = h.size - 1 - np.argmax(inside[..., ::-1], axis=-1)
    ends = np.maximum(
        np.take_along_axis(mr, lo[..., None], axis=-1)[..., 0],
        np.take_along_axis(mr, hi[..., None], axis=-1)[..., 0],
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = -c1 / (2 * c2)
        peak_mr = c0 - c1**2 / (4 * c2)
        # A butterfly peak is a significant downward curvature standing 5σ above the
        # ends of the range; a noise wiggle on a flat or rising background is not.
        good = (
            (c2 < -3 * fit.stderr[..., 2])
            & (np.abs(offset) <= peak_window)
            & (peak_mr - ends > 5 * fit.rms)
        )
        peak = np.where(good, guess + offset, np.nan)
        peak_mr = np.where(good, peak_mr, np.nan)
    # MR at the largest |µ0H| both field signs reach, averaged over signs and branches.
    both = finite & finite[..., ::-1]
    edge = np.argmax(both, axis=-1)
    top = np.take_along_axis(mr, edge[..., None], axis=-1)[..., 0]
    bottom = np.take_along_axis(mr, (h.size - 1 - edge)[..., None], axis=-1)[..., 0]
    mr_max = 0.25 * (top + bottom).sum(axis=-1)
    max_field = np.abs(h[edge]).min(axis=-1)
    return mr, peak, peak_mr, mr_max, max_field


@declare_units(rho_xx="any", peak_max_field="T", peak_window="T")
def magnetoresistance(
    rho_xx: xr.DataArray,
    *,
    field_dim: str = "field",
    branch_dim: str = "branch",
    peak_max_field: float | None = None,
    peak_window: float | None = None,
) -> xr.Dataset:
    """MR in % per symmetrized branch, the butterfly peaks and MR at the largest field.

    Parameters
    ----------
    rho_xx : xarray.DataArray
        ρ_xx (or R_xx: MR is a ratio) on dims (..., ``branch_dim``,
        ``field_dim``), as :func:`sloxide.analysis.loops.branches` returns it.
        Any units.
    field_dim, branch_dim : str, default "field", "branch"
        Names of the grid and branch dims.
    peak_max_field : float, optional
        Search the peaks within |µ0H| ≤ this, in T. Default: half the
        largest field, where the R0 fit of the AHE assumes saturation.
    peak_window : float, optional
        Half-width in T of the parabola fitted around the arg-max. Default:
        0.1 T, widened to two grid steps on a coarser grid so the parabola
        always has five points (on a 0.2 T loop, 0.1 T held one or two and
        every peak came out NaN).

    Returns
    -------
    xarray.Dataset
        ``mr`` (..., branch, field) in %; ``peak_field`` (..., branch) in T,
        NaN where a branch has no interior maximum (e.g. above T_c);
        ``peak_mr`` (..., branch) in %; ``mr_max_field`` in %, averaged over
        both field signs and branches; ``max_field``, the |µ0H| it refers to,
        in T.

    Raises
    ------
    DataError
        If ρ_xx is not binned on a symmetric grid, holds ±inf, or has no
        value at zero field, or the field grid reaches magnitudes
        outside :data:`~sloxide.analysis.leastsq.FIT_RANGE`.

    Examples
    --------
    A butterfly with peaks at ±0.97 T on a negative linear background:

    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.mr import magnetoresistance
    >>> h = np.round(np.arange(-450, 451) * 0.02, 10)
    >>> m = np.stack([np.tanh((h - 0.97) / 0.659), np.tanh((h + 0.97) / 0.659)])
    >>> rho = xr.DataArray(
    ...     0.6 * (1 + 0.0025 * (1 - m**2) - 6.92e-4 * np.abs(h)), dims=("branch", "field"),
    ...     coords={"branch": ["up", "down"], "field": ("field", h, {"units": "T"})},
    ...     attrs={"units": "mohm*cm"}, name="rho_xx",
    ... )
    >>> out = magnetoresistance(rho)
    >>> out.peak_field.values.round(2), round(float(out.mr_max_field), 2)
    (array([ 0.91, -0.91]), -0.67)
    """
    if peak_window is not None and not peak_window > 0:
        raise SloxideError(f"peak_window must be positive, got {peak_window!r} T")
    rho_xx = rho_xx.rename(rho_xx.name or "rho_xx")
    require_branches(rho_xx, branch_dim, field_dim)
    h = field_grid_of(rho_xx, field_dim)
    if peak_window is None:
        peak_window = max(DEFAULT_PEAK_WINDOW, 2.0 * float(np.abs(h[1] - h[0])))
    core = [branch_dim, field_dim]
    results = xr.apply_ufunc(
        _mr_kernel,
        rho_xx,
        input_core_dims=[core],
        output_core_dims=[core, [branch_dim], [branch_dim], [], []],
        kwargs={
            "h": h,
            "peak_max_field": np.nan if peak_max_field is None else peak_max_field,
            "peak_window": peak_window,
        },
        dask="parallelized",
        output_dtypes=[float] * len(_OUTPUTS),
    )
    out = labelled_dataset(_OUTPUTS, results)
    return out.transpose(..., branch_dim, field_dim)
