"""Field loops: branch split and binning, antisymmetrization, ordinary and anomalous Hall effect.

Everything follows PHYSICS.md section 1:

* a time-ordered sweep is split into the "up" (dH/dt > 0) and "down"
  (dH/dt < 0) branches; only segments that start from ±saturation count,
  so the virgin sweep from zero field is dropped;
* both branches are binned onto one symmetric grid (interpolated, never
  extrapolated);
* ρ_xy is antisymmetrized, ρ^A,up(H) = [ρ^up(H) − ρ^down(−H)]/2, which
  removes the even pickup from misaligned leads;
* R0 and Δρ_AHE come from one joint fit ρ = R0·µ0H + Δρ·sgn(H) on
  |µ0H| ≥ H_fit, where the loop must be closed.

The kernels work on numpy arrays along the last axes and are mapped over any
extra dims (sample, temperature, ...) with ``xarray.apply_ufunc``, lazily on
dask.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError, FitError, SloxideError
from ..units import conversion_factors, declare_units, units_of, with_attrs
from .chunks import require_single_chunk
from .leastsq import local_polyfit, masked_lstsq, require_fittable
from .transport import RHO_XX_UNITS, RHO_XY_UNITS, carrier_density

__all__ = [
    "BRANCHES",
    "field_grid",
    "branches",
    "antisymmetrize",
    "symmetrize",
    "anomalous_hall",
    "zero_crossing",
    "field_grid_of",
    "require_branches",
    "check_loop_windows",
]

BRANCHES = ("up", "down")
#: Largest k of a field grid −k·step … k·step: 10⁶ bins, far finer than any sweep.
MAX_GRID_HALF = 500_000
FIELD_ATTRS = {"units": "T", "long_name": "µ0H", "quantity": "field"}

FloatArray = NDArray[np.float64]


def field_grid(step: float, field_max: float) -> FloatArray:
    """The symmetric field grid k·step, k = −K…K, that branches are binned onto.

    ``-grid[::-1]`` equals ``grid`` exactly, so antisymmetrizing is an index
    reversal, and µ0H = 0 is always on the grid.

    Parameters
    ----------
    step : float
        Grid step in T.
    field_max : float
        Largest |µ0H| in T; rounded to the nearest multiple of ``step``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from sloxide.analysis.hall import field_grid
    >>> field_grid(0.5, 1.0)
    array([-1. , -0.5,  0. ,  0.5,  1. ])
    """
    if not (np.isfinite(step) and step > 0):
        raise SloxideError(
            f"the field grid step must be positive and finite, got {step!r} T; pass step= in T"
        )
    # NaN or inf would crash int() below; a huge grid would exhaust memory.
    if not np.isfinite(field_max):
        raise SloxideError(
            f"field_max must be finite, got {field_max!r} T; pass field_max= in T, or leave "
            "it out to use the largest field both branches reach"
        )
    if field_max / step > MAX_GRID_HALF:
        raise SloxideError(
            f"a field grid from step={step:g} T to field_max={field_max:g} T would have "
            f"{2 * field_max / step:.3g} points, more than {2 * MAX_GRID_HALF + 1}; pass a "
            "larger step= (about the sweep's own field step)"
        )
    k = int(np.floor(field_max / step + 0.5))
    if k < 2:
        raise DataError(
            f"the field grid from step={step:g} T to field_max={field_max:g} T has fewer than "
            "5 points; sweep further or use a smaller step"
        )
    return np.arange(-k, k + 1, dtype=np.float64) * step


# --------------------------------------------------------------------------- kernels


def _fill_nan_forward(values: FloatArray) -> FloatArray:
    """Forward-fill NaNs along the last axis (leading NaNs take the first value)."""
    finite = np.isfinite(values)
    idx = np.where(finite, np.arange(values.shape[-1]), 0)
    idx = np.maximum.accumulate(idx, axis=-1)
    filled = np.take_along_axis(values, idx, axis=-1)
    first = np.argmax(finite, axis=-1)[..., None]
    lead = np.take_along_axis(values, first, axis=-1)
    return np.where(np.isfinite(filled), filled, lead)


def _assign_kernel(field: FloatArray, start_fraction: float) -> tuple[Any, Any]:
    """Branch index (0 up, 1 down, −1 unused) of each point, and of turning points' next segment."""
    if np.isinf(field).any():
        raise DataError("the field contains ±inf; mark missing readings as NaN instead")
    if field.shape[-1] < 3:
        raise DataError(f"a field sweep needs at least 3 points, got {field.shape[-1]}")
    if (~np.isfinite(field)).all(axis=-1).any():
        raise DataError("the field is all NaN in at least one sweep")
    h = _fill_nan_forward(field)
    step = np.sign(np.diff(h, axis=-1))
    # Plateaus (repeated readings) keep the direction they are in.
    idx = np.where(step != 0, np.arange(step.shape[-1]), 0)
    idx = np.maximum.accumulate(idx, axis=-1)
    step = np.take_along_axis(step, idx, axis=-1)
    first_move = np.take_along_axis(step, np.argmax(step != 0, axis=-1)[..., None], axis=-1)
    step = np.where(step == 0, first_move, step)
    if (step == 0).all(axis=-1).any():
        raise DataError("the field never changes in at least one sweep: this is not a field loop")
    direction = np.concatenate([step[..., :1], step], axis=-1)
    n = direction.shape[-1]
    is_start = np.concatenate(
        [np.ones_like(direction[..., :1], dtype=bool), direction[..., 1:] != direction[..., :-1]],
        axis=-1,
    )
    start = np.maximum.accumulate(np.where(is_start, np.arange(n), 0), axis=-1)
    # A segment begins at the turning point, the last reading of the previous one.
    start_field = np.take_along_axis(h, np.maximum(start - 1, 0), axis=-1)
    hmax = np.max(np.abs(h), axis=-1, keepdims=True)
    from_saturation = np.where(
        direction > 0,
        start_field <= -start_fraction * hmax,
        start_field >= start_fraction * hmax,
    )
    branch = np.where(from_saturation, np.where(direction > 0, 0, 1), -1).astype(np.int8)
    turning = np.concatenate([is_start[..., 1:], np.zeros_like(is_start[..., :1])], axis=-1)
    next_branch = np.concatenate([branch[..., 1:], -np.ones_like(branch[..., :1])], axis=-1)
    extra = np.where(turning, next_branch, -1).astype(np.int8)
    for b, label in enumerate(BRANCHES):
        present = ((branch == b) | (extra == b)).sum(axis=-1)
        if (present < 3).any():
            raise DataError(
                f"no {label!r} branch that starts from saturation in at least one sweep: a field "
                "loop must sweep from one field extreme to the other and back (e.g. 0 → +Hmax → "
                "−Hmax → +Hmax); the virgin sweep from zero field is not used"
            )
    return branch, extra


def _bin_kernel(
    field: FloatArray,
    value: FloatArray,
    branch: NDArray[np.int8],
    extra: NDArray[np.int8],
    grid: FloatArray,
    name: str,
) -> FloatArray:
    """Bin ``value`` onto (2, len(grid)) per curve; interpolate across empty bins."""
    field, value = np.broadcast_arrays(field, value)
    branch = np.broadcast_to(branch, value.shape)
    extra = np.broadcast_to(extra, value.shape)
    if np.isinf(value).any():
        raise DataError(f"{name} contains ±inf; mark missing readings as NaN instead")
    lead = value.shape[:-1]
    n_curves = int(np.prod(lead, dtype=np.int64))
    h = field.reshape(n_curves, -1)
    v = value.reshape(n_curves, -1)
    curve = np.broadcast_to(np.arange(n_curves)[:, None], h.shape)
    step = grid[1] - grid[0]
    n_grid = grid.size
    k = np.rint((h - grid[0]) / np.where(np.isfinite(h), step, np.nan))
    ok = np.isfinite(h) & np.isfinite(v) & (k >= 0) & (k < n_grid)
    k = np.where(ok, k, 0).astype(np.int64)
    flat_parts, h_parts, v_parts = [], [], []
    for labels in (branch.reshape(n_curves, -1), extra.reshape(n_curves, -1)):
        use = ok & (labels >= 0)
        flat_parts.append(((curve * 2 + labels) * n_grid + k)[use])
        h_parts.append(h[use])
        v_parts.append(v[use])
    flat = np.concatenate(flat_parts)
    size = n_curves * 2 * n_grid
    count = np.bincount(flat, minlength=size)
    per_branch = count.reshape(n_curves, 2, n_grid).sum(axis=-1)
    if (per_branch < 2).any():
        raise DataError(
            f"{name} has fewer than 2 finite readings on a branch in at least one sweep "
            "(all NaN, or outside the field grid); check the data or drop that sweep"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        h_mean = np.bincount(flat, np.concatenate(h_parts), minlength=size) / count
        v_mean = np.bincount(flat, np.concatenate(v_parts), minlength=size) / count
    # Interpolate the bin means onto the grid, never across two curves or branches:
    # offset every (curve, branch) group by a span larger than the grid.
    span = grid[-1] - grid[0] + 4 * step
    group = np.repeat(np.arange(n_curves * 2), n_grid)
    filled = count > 0
    nodes_x = (group * span + (h_mean - grid[0] + step))[filled]
    nodes_v = v_mean[filled]
    nodes_g = group[filled]
    query = group * span + (np.tile(grid, n_curves * 2) - grid[0] + step)
    right = np.searchsorted(nodes_x, query, side="left")
    left = right - 1
    r = np.clip(right, 0, max(nodes_x.size - 1, 0))
    lft = np.clip(left, 0, max(nodes_x.size - 1, 0))
    inside = (left >= 0) & (right < nodes_x.size)
    inside &= (nodes_g[lft] == group) & (nodes_g[r] == group) if nodes_x.size else inside
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (query - nodes_x[lft]) / (nodes_x[r] - nodes_x[lft])
        interp = nodes_v[lft] + t * (nodes_v[r] - nodes_v[lft])
    # At the ends of a branch a grid point keeps its own bin's mean (binning,
    # within half a step), but nothing is extrapolated beyond the data.
    out = np.where(inside, interp, np.where(filled, v_mean, np.nan))
    return out.reshape(*lead, 2, n_grid)


def _infer_step(field: FloatArray) -> float:
    # In float64: rounding a float32 median "to 0.1 mT" would keep float32's error
    # (0.05 → 0.0500000007), and the grid would miss the round field values.
    field = np.asarray(field, dtype=np.float64)
    if not np.isfinite(field).any():
        raise DataError(
            "the field is all NaN; check that the run recorded the field readback, or pass "
            "field= naming the swept field"
        )
    steps = np.abs(np.diff(field, axis=-1))
    steps = steps[np.isfinite(steps) & (steps > 0)]
    if steps.size == 0:
        raise DataError(
            "the field never changes: this is not a field loop; check that field= names the "
            "swept field (a loop sweeps 0 → +Hmax → −Hmax → +Hmax)"
        )
    # Round to 0.1 mT so that readback noise does not shift the grid.
    return float(max(np.round(np.median(steps), 4), 1e-4))


@declare_units(field="T", step="T", field_max="T")
def branches(
    data: xr.Dataset,
    field: xr.DataArray,
    *,
    dim: str = "time",
    step: float | None = None,
    field_max: float | None = None,
    start_fraction: float = 0.9,
) -> xr.Dataset:
    """Split a time-ordered field sweep into up/down branches on a symmetric field grid.

    Each monotonic segment of the sweep is a branch ("up" for dH/dt > 0,
    "down" for dH/dt < 0) if it starts from saturation, i.e. at
    |µ0H| ≥ ``start_fraction``·max|µ0H| on the side opposite its direction;
    the virgin sweep from zero field is dropped (PHYSICS.md §1). Readings
    of each branch are averaged in bins of width ``step`` centred on the grid
    and interpolated onto it; nothing is extrapolated beyond a branch's data.
    Repeated loops are averaged.

    Parameters
    ----------
    data : xarray.Dataset
        Variables swept along ``dim`` (any units; they are kept).
        Variables without ``dim`` are carried over unchanged.
    field : xarray.DataArray
        µ0H along ``dim``, any field units (T, Oe, kOe, G, A/m).
    dim : str, default "time"
        The dim along which the sweep is time-ordered.
    step : float, optional
        Grid step in T (or a Quantity). Default: the median field step of
        the sweep, rounded to 0.1 mT.
    field_max : float, optional
        Largest |µ0H| of the grid in T. Default: the largest symmetric
        field range the sweeps reach.
    start_fraction : float, default 0.9
        How close to the field extreme a segment must start to count.

    Returns
    -------
    xarray.Dataset
        Each swept variable on dims (..., ``branch``, ``field``) with
        ``branch`` = ["up", "down"]; ``field`` is the grid in T.

    Raises
    ------
    DataError
        For ±inf, an empty or all-NaN field, fewer than 3 points, a sweep
        without an up or a down branch from saturation, a ``dim`` coordinate
        out of time order, or a chunked ``dim``.
    SloxideError
        For a step or field_max that is not finite and positive, or a grid of
        more than a million points.
    UnitsError
        If ``field`` has no or incompatible units.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.hall import branches
    >>> h = np.concatenate([np.linspace(0, 2, 5), np.linspace(2, -2, 9)[1:], np.linspace(-2, 2, 9)[1:]])
    >>> ds = xr.Dataset({"R_xy": ("time", np.tanh(h), {"units": "ohm"})})
    >>> field = xr.DataArray(h, dims="time", attrs={"units": "T"})
    >>> out = branches(ds, field)
    >>> out.R_xy.dims, out.field.values
    (('branch', 'field'), array([-2. , -1.5, -1. , -0.5,  0. ,  0.5,  1. ,  1.5,  2. ]))
    """
    if dim not in field.dims:
        raise DataError(f"the field has dims {field.dims}, not the sweep dim {dim!r}; pass dim=")
    if not 0 < start_fraction <= 1:
        raise SloxideError(
            f"start_fraction must be in (0, 1], got {start_fraction!r}; pass e.g. "
            "start_fraction=0.9"
        )
    if field.sizes[dim] == 0:
        raise DataError(
            f"the field has no readings along {dim!r}; check the run (a field loop sweeps "
            "0 → +Hmax → −Hmax → +Hmax)"
        )
    # The branches follow the readings in time order. A shuffled or repeated time
    # coordinate would be split into nonsense segments and binned without a word;
    # readings repeated in place (a plateau) are harmless.
    index = field.indexes.get(dim)
    if index is not None and not index.is_monotonic_increasing:
        raise DataError(
            f"the {dim!r} coordinate of the sweep is not in increasing order (unsorted or "
            f"repeated readings), but the branches follow the readings in time order; sort "
            f"the run first, e.g. ds.sortby({dim!r})"
        )
    require_single_chunk(field, dim, "field")
    lazy = field.chunks is not None
    if (step is None or field_max is None) and lazy:
        raise DataError(
            "the field is a lazy dask array: pass step= and field_max= (in T) so the grid is "
            "known without computing, e.g. step=0.02, field_max=9"
        )
    h = np.asarray(field.values) if not lazy else None
    if h is not None and np.isinf(h).any():
        # Before the grid is inferred from it: inf − inf would warn and give a NaN step.
        raise DataError("the field contains ±inf; mark missing readings as NaN instead")
    if step is None:
        assert h is not None
        step = _infer_step(h)
    if field_max is None:
        assert h is not None
        if not np.isfinite(h).any():
            raise DataError(
                "the field is all NaN; check that the run recorded the field readback, or pass "
                "field= naming the swept field"
            )
        reach = np.minimum(np.nanmax(h, axis=-1), -np.nanmin(h, axis=-1))
        field_max = float(np.max(reach))
    grid = field_grid(step, field_max)

    labels = xr.apply_ufunc(
        _assign_kernel,
        field,
        input_core_dims=[[dim]],
        output_core_dims=[[dim], [dim]],
        kwargs={"start_fraction": start_fraction},
        dask="parallelized",
        output_dtypes=[np.int8, np.int8],
    )
    out = xr.Dataset(attrs=data.attrs)
    for name, var in data.data_vars.items():
        if var.dtype.kind not in "fiu" or name == field.name and var.equals(field):
            continue
        if dim not in var.dims:
            out[name] = var
            continue
        require_single_chunk(var, dim, str(name))
        binned = xr.apply_ufunc(
            _bin_kernel,
            field,
            var.astype(float),
            *labels,
            input_core_dims=[[dim]] * 4,
            output_core_dims=[["branch", "field"]],
            kwargs={"grid": grid, "name": str(name)},
            dask="parallelized",
            output_dtypes=[float],
            dask_gufunc_kwargs={"output_sizes": {"branch": 2, "field": grid.size}},
        )
        out[name] = binned.assign_attrs(var.attrs)
    return out.assign_coords(
        branch=("branch", list(BRANCHES), {"long_name": "sweep branch"}),
        field=("field", grid, FIELD_ATTRS),
    )


def field_grid_of(da: xr.DataArray, field_dim: str) -> FloatArray:
    """The symmetric field grid of binned branches, in T; DataError if it is not one.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.hall import field_grid_of
    >>> da = xr.DataArray(np.zeros(5), dims="field", name="rho_xy",
    ...                   coords={"field": ("field", [-2e4, -1e4, 0, 1e4, 2e4], {"units": "Oe"})})
    >>> field_grid_of(da, "field")
    array([-2., -1.,  0.,  1.,  2.])
    """
    if field_dim not in da.coords:
        raise DataError(
            f"{da.name} has no {field_dim!r} coordinate; bin the sweep with branches() first"
        )
    coord = da[field_dim]
    units = units_of(coord)
    if units is None:
        raise DataError(
            f"the {field_dim!r} coordinate has no units; set "
            f"ds[{field_dim!r}].attrs['units'] = 'T' (or 'Oe')"
        )
    h = np.asarray(coord.values, dtype=float) * conversion_factors(units, "T")[0]
    if (
        h.size < 5
        or not np.all(np.diff(h) > 0)
        or not np.allclose(h, -h[::-1], rtol=0, atol=1e-9 * np.max(np.abs(h)))
    ):
        raise DataError(
            f"the {field_dim!r} grid must be increasing, symmetric about 0 and hold at least 5 "
            "points; bin the sweep with .sloxide.branches() first"
        )
    return h


def require_branches(da: xr.DataArray, branch_dim: str, field_dim: str) -> None:
    """Raise DataError unless ``da`` holds up/down branches on one chunk per curve.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.hall import require_branches
    >>> raw = xr.DataArray(np.zeros(7), dims="time", name="rho_xy")
    >>> try:
    ...     require_branches(raw, "branch", "field")
    ... except ValueError as err:
    ...     print(err)
    rho_xy has dims ('time',) but needs ['branch', 'field']; bin the sweep with .sloxide.branches() first
    """
    missing = [d for d in (branch_dim, field_dim) if d not in da.dims]
    if missing:
        raise DataError(
            f"{da.name} has dims {da.dims} but needs {missing}; bin the sweep with "
            ".sloxide.branches() first"
        )
    if list(da[branch_dim].values) != list(BRANCHES):
        raise DataError(
            f"the {branch_dim!r} coordinate must be {list(BRANCHES)}; bin the sweep with "
            ".sloxide.branches() first"
        )
    for d in (branch_dim, field_dim):
        require_single_chunk(da, d, str(da.name))


def antisymmetrize(values: FloatArray) -> FloatArray:
    """ρ^A,up(H) = [ρ^up(H) − ρ^down(−H)]/2 and ρ^A,down(H) = −ρ^A,up(−H).

    ``values`` has shape (..., 2, G) on a symmetric grid (PHYSICS.md §1, step 2).

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.analysis.hall import antisymmetrize
    >>> loop = np.array([[-1.0, 0.5, 2.0], [-1.0, 1.5, 2.0]]) + 7.0  # offset 7 is even
    >>> antisymmetrize(loop)
    array([[-1.5, -0.5,  1.5],
           [-1.5,  0.5,  1.5]])
    """
    up = 0.5 * (values[..., 0, :] - values[..., 1, ::-1])
    return np.stack([up, -up[..., ::-1]], axis=-2)


def symmetrize(values: FloatArray) -> FloatArray:
    """ρ^S,up(H) = [ρ^up(H) + ρ^down(−H)]/2 and ρ^S,down(H) = ρ^S,up(−H) (PHYSICS.md §1, step 3).

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.analysis.hall import symmetrize
    >>> symmetrize(np.array([[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]]))
    array([[4., 4., 4.],
           [4., 4., 4.]])
    """
    up = 0.5 * (values[..., 0, :] + values[..., 1, ::-1])
    return np.stack([up, up[..., ::-1]], axis=-2)


def zero_crossing(h: FloatArray, y: FloatArray, window: float) -> tuple[FloatArray, FloatArray]:
    """Field where each curve changes sign, and its standard error.

    Takes the steepest sign change (PHYSICS.md §1, step 6), then refines it
    with a line fitted within ±``window`` of it, so every reading near the
    crossing averages down the noise. NaN where a curve never changes sign.

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.analysis.hall import zero_crossing
    >>> h = np.linspace(-1, 1, 21)
    >>> root, _ = zero_crossing(h, np.tanh((h - 0.33) / 0.2), 0.1)
    >>> round(float(root), 3)
    0.33
    """
    y0, y1 = y[..., :-1], y[..., 1:]
    dy = y1 - y0
    dh = np.diff(h)
    with np.errstate(invalid="ignore", divide="ignore"):
        crosses = (y0 * y1 < 0) | ((y0 == 0) & (dy != 0))
        steep = np.where(crosses, np.abs(dy) / dh, -np.inf)
        k = np.argmax(steep, axis=-1)
        found = np.take_along_axis(steep, k[..., None], axis=-1)[..., 0] > -np.inf
        yk = np.take_along_axis(y0, k[..., None], axis=-1)[..., 0]
        slope = np.take_along_axis(dy, k[..., None], axis=-1)[..., 0] / dh[k]
        guess = np.where(found, h[k] - yk / slope, np.nan)
        fit = local_polyfit(h, y, guess, window, 1)
        c0, c1 = fit.coef[..., 0], fit.coef[..., 1]
        root = guess - c0 / c1
        root_stderr = np.sqrt(fit.cov[..., 0, 0]) / np.abs(c1)
    # A refinement that leaves the window means the line does not describe the crossing.
    keep = np.abs(root - guess) <= window
    return np.where(keep, root, guess), np.where(keep, root_stderr, np.nan)


def _window_mean(values: FloatArray, window: NDArray[np.bool_]) -> FloatArray:
    """Mean of the finite values inside ``window`` along the last axis (NaN if none)."""
    use = window & np.isfinite(values)
    return np.where(use, values, 0.0).sum(axis=-1) / use.sum(axis=-1)


def _ahe_kernel(
    rho_xy: FloatArray,
    rho_xx: FloatArray,
    h: FloatArray,
    fit_min_field: float,
    crossing_window: float,
    sigma_scale: tuple[float, float],
    convention: str,
) -> tuple[FloatArray, ...]:
    if np.isinf(rho_xy).any():
        raise DataError("rho_xy contains ±inf; mark missing readings as NaN instead")
    # The fits square ρ and µ0H: refuse magnitudes that leave float64 (1e300
    # warned of overflow; 1e-300 gave zero errors, a NaN H_C and an infinite σ_AHE).
    require_fittable(rho_xy, "rho_xy", RHO_XY_UNITS)
    require_fittable(rho_xx, "rho_xx", RHO_XX_UNITS)
    require_fittable(h, "the field", "T")
    anti = antisymmetrize(rho_xy)
    a_up = anti[..., 0, :]
    finite = np.isfinite(a_up)
    reach = np.max(np.where(finite, np.abs(h), 0.0), axis=-1)
    h_fit = np.full(reach.shape, fit_min_field) if np.isfinite(fit_min_field) else 0.5 * reach
    window = (np.abs(h) >= h_fit[..., None] * (1 - 1e-9)) & finite
    n_pos = (window & (h > 0)).sum(axis=-1)
    n_neg = (window & (h < 0)).sum(axis=-1)
    if ((n_pos < 2) | (n_neg < 2)).any():
        worst = float(np.max(h_fit))
        raise FitError(
            f"the R0 fit window |µ0H| ≥ {worst:.3g} T holds fewer than 2 readings on a side in "
            f"at least one loop (the loop reaches {float(np.min(reach)):.3g} T); sweep to a higher "
            "field, or lower fit_min_field"
        )
    # ρ^A,down is the mirror image of ρ^A,up, so fitting ρ^A,up over both field
    # signs is the joint fit of both branches, with independent residuals.
    design = np.stack([h, np.sign(h)], axis=-1)
    fit = masked_lstsq(design, a_up, window)
    r0, drho = fit.coef[..., 0], fit.coef[..., 1]
    r0_err, drho_err = fit.stderr[..., 0], fit.stderr[..., 1]
    # Saturation check: in the fit window the two branches must coincide, so their
    # difference is noise. Its scatter comes from successive differences (von Neumann),
    # which a smooth opening of an unsaturated window barely inflates. (The residuals of
    # the line fit absorb that opening as misfit: with fit_min_field inside the
    # hysteresis, the check passed and Δρ_AHE came out a third of its value.)
    # The opening is even in µ0H, so only half the window's readings are independent.
    opening = a_up - anti[..., 1, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        jumps = np.diff(opening, axis=-1)
        pairs = window[..., 1:] & window[..., :-1] & np.isfinite(jumps)
        noise = np.sqrt(np.where(pairs, jumps**2, 0.0).sum(axis=-1) / (2 * pairs.sum(axis=-1)))
        mean_open = _window_mean(opening, window)
        open_err = noise * np.sqrt(2 / window.sum(axis=-1))
        unsaturated = (np.abs(mean_open) > 5 * open_err) & (
            np.abs(mean_open) > 0.05 * np.abs(drho)
        )
    if unsaturated.any():
        i = int(np.argmax(unsaturated.ravel()))
        raise FitError(
            f"the loop is not saturated in the R0 fit window |µ0H| ≥ "
            f"{float(h_fit.ravel()[i]):.3g} T: there the up and down branches still differ by "
            f"{float(np.abs(mean_open.ravel()[i])):.3g} µΩ·cm on average "
            f"({float(np.abs(mean_open.ravel()[i] / drho.ravel()[i])):.0%} of Δρ_AHE) in "
            f"{int(unsaturated.sum())} loop(s). Sweep to a higher field, or set fit_min_field= "
            "above the field where the branches merge"
        )
    rho_ahe = anti - r0[..., None, None] * h

    # Coercive field and exchange bias from the raw branches: antisymmetrizing
    # would force H_EB = 0. Remove the ordinary Hall line and the even pickup
    # measured in saturation (PHYSICS.md §1, step 6). Pickup from misaligned
    # leads is p·ρ_xx, so where ρ_xx is known it follows the butterfly MR on
    # each branch; a constant offset would shift H_EB by ~a_dom·p·ρ_xx/slope.
    with np.errstate(invalid="ignore", divide="ignore"):
        even = _window_mean(symmetrize(rho_xy)[..., 0, :], window)
        ratio = even / _window_mean(symmetrize(rho_xx)[..., 0, :], window)
    pickup = np.where(
        np.isfinite(ratio)[..., None, None] & np.isfinite(rho_xx),
        ratio[..., None, None] * rho_xx,
        even[..., None, None],
    )
    shifted = rho_xy - r0[..., None, None] * h - pickup
    roots, root_err = zero_crossing(h, shifted, crossing_window)
    h_up, h_dn = roots[..., 0], roots[..., 1]
    resolved = np.abs(drho) > 3 * drho_err
    coercive = np.where(resolved, 0.5 * (h_up - h_dn), np.nan)
    bias = np.where(resolved, 0.5 * (h_up + h_dn), np.nan)
    hc_err = np.where(resolved, 0.5 * np.hypot(root_err[..., 0], root_err[..., 1]), np.nan)

    # Remanence ρ_r = [ρ_AHE^dn(0) − ρ_AHE^up(0)]/2 = ρ_AHE^dn(0): a line through
    # the readings near zero field (PHYSICS.md §1, step 7).
    rem_fit = local_polyfit(h, rho_ahe[..., 1, :], np.zeros(r0.shape), crossing_window, 1)
    remanence = rem_fit.coef[..., 0]
    remanence_err = rem_fit.stderr[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        squareness = np.where(resolved, remanence / drho, np.nan)

    zero = int(np.argmin(np.abs(h)))
    rho_xx0 = 0.5 * (rho_xx[..., 0, zero] + rho_xx[..., 1, zero])
    drho_scale, xx_scale = sigma_scale
    with np.errstate(invalid="ignore", divide="ignore"):
        if convention == "paper":
            # σ_AHE = Δρ/ρ_xx²(H = 0) [paper]; sign kept, ρ_xy² dropped.
            sigma = drho * drho_scale / (rho_xx0 * xx_scale) ** 2
            sigma_err = drho_err * drho_scale / (rho_xx0 * xx_scale) ** 2
        else:
            # Tensor inverse σ_xy = −ρ_xy/(ρ_xx² + ρ_xy²) for the AHE part.
            d, x = drho * drho_scale, rho_xx0 * xx_scale
            sigma = -d / (x**2 + d**2)
            sigma_err = drho_err * drho_scale * np.abs((d**2 - x**2) / (x**2 + d**2) ** 2)
    return (
        rho_ahe,
        r0,
        r0_err,
        drho,
        drho_err,
        coercive,
        hc_err,
        bias,
        remanence,
        remanence_err,
        squareness,
        rho_xx0,
        sigma,
        sigma_err,
        h_fit,
    )


_AHE_OUTPUTS: tuple[tuple[str, str, str], ...] = (
    ("rho_ahe", RHO_XY_UNITS, "anomalous Hall resistivity ρ_AHE = ρ^A − R0·µ0H"),
    ("R0", "uohm * cm / T", "ordinary Hall coefficient R0"),
    ("R0_stderr", "uohm * cm / T", "standard error of R0"),
    ("delta_rho_ahe", RHO_XY_UNITS, "Δρ_AHE, half the saturated AHE jump"),
    ("delta_rho_ahe_stderr", RHO_XY_UNITS, "standard error of Δρ_AHE"),
    ("coercive_field", "T", "coercive field µ0H_C = (H_up − H_down)/2"),
    ("coercive_field_stderr", "T", "standard error of µ0H_C"),
    ("exchange_bias", "T", "exchange-bias field µ0H_EB = (H_up + H_down)/2"),
    ("remanence", RHO_XY_UNITS, "remanent AHE ρ_r = [ρ_AHE^down(0) − ρ_AHE^up(0)]/2"),
    ("remanence_stderr", RHO_XY_UNITS, "standard error of ρ_r"),
    ("squareness", "1", "loop squareness ρ_r/Δρ_AHE"),
    ("rho_xx", RHO_XX_UNITS, "ρ_xx at zero field, symmetrized and averaged over the branches"),
    ("sigma_ahe", "S/cm", "anomalous Hall conductivity σ_AHE"),
    ("sigma_ahe_stderr", "S/cm", "standard error of σ_AHE"),
    ("fit_min_field", "T", "lower |µ0H| bound of the R0 fit window"),
)


def check_loop_windows(crossing_window: float, fit_min_field: float | None) -> None:
    """Refuse a crossing window or a high-field bound that is not positive and finite.

    NaN passes "<= 0" and inf widens the line fits to whole branches: both gave silently
    wrong coercive fields, in the AHE and in M(H) loops alike.

    Examples
    --------
    >>> from sloxide.analysis.hall import check_loop_windows
    >>> check_loop_windows(0.1, None)
    >>> try:
    ...     check_loop_windows(float("nan"), None)
    ... except ValueError as err:
    ...     print(err)
    crossing_window must be positive and finite, got nan T; pass e.g. crossing_window=0.1 (T)
    """
    if not (np.isfinite(crossing_window) and crossing_window > 0):
        raise SloxideError(
            f"crossing_window must be positive and finite, got {crossing_window!r} T; pass "
            "e.g. crossing_window=0.1 (T)"
        )
    if fit_min_field is not None and not (np.isfinite(fit_min_field) and fit_min_field > 0):
        raise SloxideError(
            f"fit_min_field must be positive and finite, got {fit_min_field!r} T; pass a "
            "field where the loop is saturated, or leave it out for half the largest field"
        )


@declare_units(rho_xy=RHO_XY_UNITS, rho_xx=RHO_XX_UNITS, fit_min_field="T", crossing_window="T")
def anomalous_hall(
    rho_xy: xr.DataArray,
    rho_xx: xr.DataArray | None = None,
    *,
    field_dim: str = "field",
    branch_dim: str = "branch",
    fit_min_field: float | None = None,
    crossing_window: float = 0.1,
    hall_sign: int = 1,
    convention: Literal["paper", "tensor"] = "paper",
) -> xr.Dataset:
    """Ordinary and anomalous Hall effect of binned field loops.

    Implements PHYSICS.md section 1, steps 2–8 and 10: antisymmetrize
    ρ_xy, fit ρ^A = R0·µ0H + Δρ·sgn(H) jointly to both branches on
    |µ0H| ≥ ``fit_min_field`` (the loop must be closed there), subtract
    R0·µ0H to get ρ_AHE, and read off the coercive field, exchange bias,
    remanence, squareness, σ_AHE and the carriers.

    Parameters
    ----------
    rho_xy : xarray.DataArray
        Hall resistivity on dims (..., ``branch_dim``, ``field_dim``), as
        :func:`branches` returns it; any resistivity units.
    rho_xx : xarray.DataArray, optional
        Longitudinal resistivity on the same grid, for σ_AHE; any
        resistivity units. Without it ``rho_xx`` and ``sigma_ahe`` are NaN.
    field_dim, branch_dim : str, default "field", "branch"
        Names of the grid and branch dims. The field coordinate needs units.
    fit_min_field : float, optional
        Lower |µ0H| bound of the R0 fit in T. Default: half the largest field
        of each loop. It must lie where the loop is saturated (above
        H_C + 3w for a tanh loop).
    crossing_window : float, default 0.1
        Half-width in T of the line fits that refine the coercive field and
        the remanence.
    hall_sign : {1, -1}, default 1
        Lead polarity: ρ_xy is multiplied by it first (PHYSICS.md §0).
    convention : {"paper", "tensor"}, default "paper"
        σ_AHE = Δρ/ρ_xx(0)² as in the paper, or the tensor inverse
        σ_xy = −Δρ/(ρ_xx² + Δρ²).

    Returns
    -------
    xarray.Dataset
        ``rho_ahe`` (..., branch, field) in µΩ·cm; ``R0`` in µΩ·cm/T;
        ``delta_rho_ahe``, ``remanence`` in µΩ·cm; ``coercive_field``,
        ``exchange_bias``, ``fit_min_field`` in T; ``squareness``
        (dimensionless); ``rho_xx`` (zero field) in mΩ·cm; ``sigma_ahe``
        in S/cm; ``carrier_density`` in cm⁻³ and ``carrier_type``; fitted
        quantities with ``<name>_stderr``. Coercive field, exchange bias and
        squareness are NaN where Δρ_AHE is not resolved (< 3 standard errors).

    Raises
    ------
    FitError
        If the R0 window holds too few readings or the loop is not
        saturated in it.
    DataError
        If the data are not binned branches on a symmetric grid, hold ±inf, or
        reach magnitudes outside :data:`~sloxide.analysis.leastsq.FIT_RANGE`.
    SloxideError
        If ``fit_min_field`` or ``crossing_window`` is not positive and finite.
    UnitsError
        If an input lacks units or has incompatible ones.

    Examples
    --------
    A tanh loop with Δρ = 0.03 µΩ·cm, µ0H_C = 0.97 T and R0 = 0.02 µΩ·cm/T:

    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.hall import anomalous_hall
    >>> h = np.round(np.arange(-450, 451) * 0.02, 10)
    >>> loop = np.stack([np.tanh((h - 0.97) / 0.659), np.tanh((h + 0.97) / 0.659)])
    >>> rho = xr.DataArray(
    ...     0.02 * h + 0.03 * loop, dims=("branch", "field"),
    ...     coords={"branch": ["up", "down"], "field": ("field", h, {"units": "T"})},
    ...     attrs={"units": "uohm*cm"}, name="rho_xy",
    ... )
    >>> out = anomalous_hall(rho)
    >>> round(float(out.R0), 6), round(float(out.delta_rho_ahe), 6), round(float(out.coercive_field), 3)
    (0.02, 0.03, 0.97)
    """
    if hall_sign not in (1, -1):
        raise SloxideError(
            f"hall_sign must be +1 or -1, got {hall_sign!r}; pass hall_sign=1 or -1"
        )
    if convention not in ("paper", "tensor"):
        raise SloxideError(
            f"convention must be 'paper' or 'tensor', got {convention!r}; pass one of them"
        )
    check_loop_windows(crossing_window, fit_min_field)
    rho_xy = rho_xy.rename(rho_xy.name or "rho_xy")
    require_branches(rho_xy, branch_dim, field_dim)
    h = field_grid_of(rho_xy, field_dim)
    core = [branch_dim, field_dim]
    if rho_xx is None:
        xx = xr.full_like(rho_xy, np.nan)
    else:
        xx = rho_xx.rename(rho_xx.name or "rho_xx")
        require_branches(xx, branch_dim, field_dim)
    # Both conventions are evaluated in Ω·cm, so σ comes out in S/cm.
    scale = (
        conversion_factors(RHO_XY_UNITS, "ohm * cm")[0],
        conversion_factors(RHO_XX_UNITS, "ohm * cm")[0],
    )
    results = xr.apply_ufunc(
        _ahe_kernel,
        hall_sign * rho_xy,
        xx,
        input_core_dims=[core, core],
        output_core_dims=[core] + [[]] * (len(_AHE_OUTPUTS) - 1),
        kwargs={
            "h": h,
            "fit_min_field": np.nan if fit_min_field is None else fit_min_field,
            "crossing_window": crossing_window,
            "sigma_scale": scale,
            "convention": convention,
        },
        dask="parallelized",
        output_dtypes=[float] * len(_AHE_OUTPUTS),
    )
    out = xr.Dataset(
        {
            name: result.pipe(with_attrs, units=units, long_name=long_name)
            for (name, units, long_name), result in zip(_AHE_OUTPUTS, results, strict=True)
        },
        attrs={"hall_sign": hall_sign, "sigma_convention": convention},
    )
    out["sigma_ahe"].attrs["description"] = (
        "Δρ_AHE/ρ_xx(0)² as in the paper (S/cm = µΩ·cm/(mΩ·cm)²)"
        if convention == "paper"
        else "tensor inverse −Δρ_AHE/(ρ_xx² + Δρ_AHE²)"
    )
    carriers = carrier_density(out["R0"])
    out["carrier_density"] = carriers["carrier_density"]
    out["carrier_type"] = carriers["carrier_type"]
    return out.transpose(..., branch_dim, field_dim)
