"""Field loops: the branch split of a sweep, its binning onto a symmetric field grid, and the branch operations.

Everything follows PHYSICS.md section 1:

* a time-ordered sweep is split into the "up" (dH/dt > 0) and "down"
  (dH/dt < 0) branches; only segments that start from ±saturation count,
  so the virgin sweep from zero field is dropped;
* both branches are binned onto one symmetric grid (interpolated, never
  extrapolated);
* a binned loop is antisymmetrized, ρ^A,up(H) = [ρ^up(H) − ρ^down(−H)]/2,
  which removes the even pickup from misaligned leads, or symmetrized,
  which keeps only the even part (the MR).

Binned loops feed the anomalous Hall effect (:mod:`sloxide.analysis.hall`),
the magnetoresistance (:mod:`sloxide.analysis.mr`) and M(H) loops
(:mod:`sloxide.analysis.hysteresis`). The kernels work on numpy arrays along
the last axes and are mapped over any extra dims (sample, temperature, ...)
with ``xarray.apply_ufunc``, lazily on dask.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError, SloxideError
from ..units import conversion_factors, declare_units, units_of
from .chunks import require_single_chunk

__all__ = [
    "BRANCHES",
    "field_grid",
    "branches",
    "field_grid_of",
    "require_branches",
    "antisymmetrize",
    "symmetrize",
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
    >>> from sloxide.analysis.loops import field_grid
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


def _bin_means(
    h: FloatArray,
    v: FloatArray,
    labels: tuple[NDArray[np.int8], NDArray[np.int8]],
    grid: FloatArray,
    name: str,
) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Mean field, mean value and count of the readings in each (curve, branch, bin).

    ``h`` and ``v`` are (C, N) curves; a reading counts in the branch of each of its
    two ``labels`` (its own, and at a turning point the next segment's). Bins are
    flat, in (curve, branch, bin) order.
    """
    n_curves = h.shape[0]
    curve = np.broadcast_to(np.arange(n_curves)[:, None], h.shape)
    step = grid[1] - grid[0]
    n_grid = grid.size
    k = np.rint((h - grid[0]) / np.where(np.isfinite(h), step, np.nan))
    ok = np.isfinite(h) & np.isfinite(v) & (k >= 0) & (k < n_grid)
    k = np.where(ok, k, 0).astype(np.int64)
    flat_parts, h_parts, v_parts = [], [], []
    for branch in labels:
        use = ok & (branch >= 0)
        flat_parts.append(((curve * 2 + branch) * n_grid + k)[use])
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
    return h_mean, v_mean, count


def _onto_grid(
    h_mean: FloatArray, v_mean: FloatArray, count: NDArray[np.int64], grid: FloatArray
) -> FloatArray:
    """Bin means interpolated onto ``grid`` within each (curve, branch), flat as the bins."""
    # Interpolate the bin means onto the grid, never across two curves or branches:
    # offset every (curve, branch) group by a span larger than the grid.
    step = grid[1] - grid[0]
    n_grid = grid.size
    n_groups = count.size // n_grid
    span = grid[-1] - grid[0] + 4 * step
    group = np.repeat(np.arange(n_groups), n_grid)
    filled = count > 0
    nodes_x = (group * span + (h_mean - grid[0] + step))[filled]
    nodes_v = v_mean[filled]
    nodes_g = group[filled]
    query = group * span + (np.tile(grid, n_groups) - grid[0] + step)
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
    return np.where(inside, interp, np.where(filled, v_mean, np.nan))


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
    labels = (branch.reshape(n_curves, -1), extra.reshape(n_curves, -1))
    h_mean, v_mean, count = _bin_means(h, value.reshape(n_curves, -1), labels, grid, name)
    return _onto_grid(h_mean, v_mean, count, grid).reshape(*lead, 2, grid.size)


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
    >>> from sloxide.analysis.loops import branches
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
    >>> from sloxide.analysis.loops import field_grid_of
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
    >>> from sloxide.analysis.loops import require_branches
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
    >>> from sloxide.analysis.loops import antisymmetrize
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
    >>> from sloxide.analysis.loops import symmetrize
    >>> symmetrize(np.array([[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]]))
    array([[4., 4., 4.],
           [4., 4., 4.]])
    """
    up = 0.5 * (values[..., 0, :] + values[..., 1, ::-1])
    return np.stack([up, up[..., ::-1]], axis=-2)
