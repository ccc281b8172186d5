"""Anisotropic magnetoresistance: AMR curves and their angular harmonics (PHYSICS.md section 3).

AMR = (R_θ − R_ref)/R_ref × 100 % [paper, with R_ref = R_max]. The harmonic
model c0 + Σ_k c_k·cos(kθ − ω_k) = c0 + Σ_k (a_k·cos kθ + b_k·sin kθ) is
linear, so a whole stack is fitted with one pseudo-inverse of the design
matrix and one contraction over the angle. Curves with missing readings are
grouped by their NaN pattern and each group gets its own pseudo-inverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError, SloxideError
from ..units import declare_units, units_of, with_attrs
from .chunks import refuse_empty_curves, require_single_chunk
from .leastsq import require_fittable

__all__ = ["amr", "amr_harmonics", "design_matrix", "AMR_REFERENCES"]

AMR_REFERENCES = ("max", "mean", "theta0")
FloatArray = NDArray[np.float64]

#: A harmonic component smaller than this fraction of c_k is rounding noise of the fit
#: (about 1e-16 relative), not a direction: it decides nothing about the phase ω_k.
#: 1e-12 rad is 6e-11°, far below any measured phase error.
_PHASE_ROUNDOFF = 1e-12


def design_matrix(angle_deg: FloatArray, harmonics: Sequence[int]) -> FloatArray:
    """Columns 1, cos kθ, sin kθ for each harmonic k: shape (N, 1 + 2·len(harmonics)).

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.analysis.amr import design_matrix
    >>> design_matrix(np.array([0.0, 45.0]), [2]).round(12) + 0.0
    array([[1., 1., 0.],
           [1., 0., 1.]])
    """
    theta = np.deg2rad(np.asarray(angle_deg, dtype=float))[:, None]
    k = np.asarray(harmonics, dtype=float)[None, :]
    columns = [np.ones((theta.shape[0], 1)), np.cos(k * theta), np.sin(k * theta)]
    # Interleave as [1, cos k1, sin k1, cos k2, sin k2, ...].
    out = np.empty((theta.shape[0], 1 + 2 * k.shape[1]))
    out[:, 0] = columns[0][:, 0]
    out[:, 1::2] = columns[1]
    out[:, 2::2] = columns[2]
    return out


def _check_angles(angle: FloatArray, n_params: int) -> None:
    if angle.ndim != 1:
        raise DataError(
            f"the angle must be one 1-D coordinate shared by every curve, got shape "
            f"{angle.shape}; use the rotation's setpoints as the angle coordinate"
        )
    if not np.all(np.isfinite(angle)):
        raise DataError(
            "the angle holds NaN or ±inf; drop those readings first, e.g. "
            "ds.isel(angle=np.isfinite(ds.angle).values)"
        )
    wrapped = np.round(np.mod(angle, 360.0), 9) % 360.0
    if np.unique(wrapped).size < wrapped.size:
        raise DataError(
            "the angles repeat modulo 360° (e.g. both 0° and 360°): the same direction would "
            "count twice in the fit; drop the duplicate, e.g. ds.isel(angle=slice(None, -1))"
        )
    if angle.size <= n_params:
        raise DataError(
            f"{angle.size} angle(s) cannot determine {n_params} harmonic parameters; measure "
            f"more than {n_params} angles"
        )


def _harmonics_kernel(
    y: FloatArray, design: FloatArray, n_harmonics: int, signed: bool
) -> tuple[FloatArray, ...]:
    if np.isinf(y).any():
        raise DataError("the signal contains ±inf; mark missing readings as NaN")
    # Residual sums and the ω errors (c⁴) need squares of the signal inside float64.
    require_fittable(y, "the signal")
    lead = y.shape[:-1]
    n_angle = y.shape[-1]
    n_params = design.shape[1]
    curves = y.reshape(-1, n_angle)
    finite = np.isfinite(curves)
    complete = finite.all(axis=-1)
    coef = np.full((curves.shape[0], n_params), np.nan)
    fit = np.full_like(curves, np.nan)
    rss = np.full(curves.shape[0], np.nan)
    dof = np.zeros(curves.shape[0])
    inverse_normal = np.full((curves.shape[0], n_params, n_params), np.nan)

    def solve(members: NDArray[np.intp] | slice, pattern: NDArray[np.bool_]) -> None:
        used = design[pattern]
        if pattern.sum() <= n_params or np.linalg.matrix_rank(used) < n_params:
            return  # under-determined: left NaN
        every = bool(pattern.all())  # avoid copying the block when nothing is missing
        block = curves[members] if every else curves[members][:, pattern]
        coef[members] = block @ np.linalg.pinv(used).T
        fit[members] = coef[members] @ design.T
        resid = block - (fit[members] if every else fit[members][:, pattern])
        rss[members] = np.einsum("ij,ij->i", resid, resid)
        dof[members] = pattern.sum() - n_params
        inverse_normal[members] = np.linalg.inv(used.T @ used)

    # Complete curves share one pseudo-inverse; the rest are grouped by NaN pattern.
    if complete.all():
        solve(slice(None), np.ones(n_angle, dtype=bool))
    else:
        solve(np.flatnonzero(complete), np.ones(n_angle, dtype=bool))
        partial = np.flatnonzero(~complete)
        patterns, group = np.unique(finite[partial], axis=0, return_inverse=True)
        for index, pattern in enumerate(patterns):
            solve(partial[group.ravel() == index], pattern)
    if not np.isfinite(coef).any():
        raise DataError(
            f"no curve has more than {n_params} finite readings (at angles that separate the "
            f"harmonics) for the {n_params}-parameter harmonic fit; measure more angles or "
            "fit fewer harmonics="
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.where(dof > 0, rss / dof, np.nan)
    c0 = coef[:, 0]
    a, b = coef[:, 1::2], coef[:, 2::2]
    diag = np.diagonal(inverse_normal, axis1=1, axis2=2)
    var_a = variance[:, None] * diag[:, 1::2]
    var_b = variance[:, None] * diag[:, 2::2]
    cov_ab = variance[:, None] * np.stack(
        [inverse_normal[:, 1 + 2 * j, 2 + 2 * j] for j in range(n_harmonics)], axis=-1
    )
    c = np.hypot(a, b)
    # A pure −cos kθ fits b = ±1e-17 (or −0.0): the pseudo-inverse's rounding, not a
    # direction, yet it would put ω on either side of atan2's cut at ±180°. Components
    # within roundoff of zero are zeroed first, so ω lands in (−180°, 180°] (PHYSICS.md §3)
    # the same way on every machine; atan2(+0.0, a < 0) is +π.
    roundoff = _PHASE_ROUNDOFF * c
    omega = np.arctan2(
        np.where(np.abs(b) <= roundoff, 0.0, b), np.where(np.abs(a) <= roundoff, 0.0, a)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        # PHYSICS.md §3: Var c = (a²Va + b²Vb + 2ab·Cab)/c², Var ω = (b²Va + a²Vb − 2ab·Cab)/c⁴.
        c_err = np.sqrt((a**2 * var_a + b**2 * var_b + 2 * a * b * cov_ab) / c**2)
        omega_err = np.sqrt((b**2 * var_a + a**2 * var_b - 2 * a * b * cov_ab) / c**4)
    if signed:
        # Keep ω in (−90°, 90°] and let c carry the sign, exposing sign inversions; the
        # half-open interval gives every direction exactly one (c, ω), as for (−180°, 180°].
        flip = (omega > np.pi / 2) | (omega <= -np.pi / 2)
        omega = np.where(flip, omega - np.copysign(np.pi, omega), omega)
        c = np.where(flip, -c, c)
    c0_err = np.sqrt(variance * diag[:, 0])
    return (
        c0.reshape(lead),
        c0_err.reshape(lead),
        c.reshape(*lead, n_harmonics),
        c_err.reshape(*lead, n_harmonics),
        np.rad2deg(omega).reshape(*lead, n_harmonics),
        np.rad2deg(omega_err).reshape(*lead, n_harmonics),
        fit.reshape(y.shape),
        np.sqrt(variance).reshape(lead),
    )


def _angle_of(signal: xr.DataArray, angle: xr.DataArray | None, dim: str) -> xr.DataArray:
    if dim not in signal.dims:
        raise DataError(f"the signal has dims {signal.dims}, not the angle dim {dim!r}; pass dim=")
    require_single_chunk(signal, dim, str(signal.name or "the signal"))
    if angle is not None:
        return angle
    if dim not in signal.coords:
        raise DataError(f"no angles: pass angle= or give the {dim!r} dim a coordinate")
    from ..units import to_magnitude

    return to_magnitude(signal[dim].reset_coords(drop=True), "deg", f"the {dim!r} coordinate")


@declare_units(signal="any", angle="deg")
def amr_harmonics(
    signal: xr.DataArray,
    angle: xr.DataArray | None = None,
    *,
    dim: str = "angle",
    harmonics: Sequence[int] = (2, 4),
    convention: Literal["signed", "positive"] = "signed",
) -> xr.Dataset:
    """Fit c0 + Σ_k c_k·cos(kθ − ω_k) to AMR curves by linear least squares.

    The design matrix [1, cos kθ, sin kθ, ...] is pseudo-inverted once (once
    per NaN pattern) and applied to the whole stack with one contraction
    (PHYSICS.md §3, "Vectorize"). c_k = hypot(a_k, b_k), ω_k = atan2(b_k, a_k);
    maxima lie at θ = ω_k/k + j·360°/k.

    Parameters
    ----------
    signal : xarray.DataArray
        R_xx, ρ_xx or AMR % over ``dim``, any units; the outputs ``c0``, ``c``
        and ``fit`` keep them.
    angle : xarray.DataArray, optional
        1-D angles along ``dim`` in any angle units; default the ``dim``
        coordinate. 0° and 360° must not both be present.
    dim : str, default "angle"
    harmonics : sequence of int, default (2, 4)
        The k of each harmonic.
    convention : {"signed", "positive"}, default "signed"
        "positive": c_k ≥ 0 and ω_k in (−180°, 180°]. "signed": ω_k in
        (−90°, 90°] and c_k takes the sign, so a sign inversion of the cos kθ term
        (C10/L2 between 5 and 20 K) shows as a sign change of c_k.

    Returns
    -------
    xarray.Dataset
        ``c0`` (...), ``c`` and ``omega`` on dim ``harmonic`` (omega in deg),
        ``c_stderr``, ``omega_stderr`` (deg), ``c0_stderr``, ``fit`` (..., dim)
        and ``residual_rms``. Standard errors come from
        Cov = σ̂²·(XᵀX)⁻¹ with σ̂² = RSS/(N − p).

    Raises
    ------
    DataError
        For repeated angles (0° and 360°), too few angles, ±inf, a chunked
        ``dim``, multi-dimensional angles, or a signal with magnitudes
        outside :data:`~sloxide.analysis.leastsq.FIT_RANGE`.

    Examples
    --------
    PHYSICS.md §8 check 8: −0.05·cos 2θ.

    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.amr import amr_harmonics
    >>> theta = np.arange(0.0, 360.0, 1.0)
    >>> y = xr.DataArray(-0.05 * np.cos(np.deg2rad(2 * theta)), dims="angle",
    ...                  coords={"angle": ("angle", theta, {"units": "deg"})},
    ...                  attrs={"units": "percent"})
    >>> out = amr_harmonics(y, harmonics=[2])
    >>> float(out.c.round(6)[0]), float(out.omega.round(6)[0])
    (-0.05, 0.0)
    >>> out = amr_harmonics(y, harmonics=[2], convention="positive")
    >>> float(out.c.round(6)[0]), float(out.omega.round(6)[0])
    (0.05, 180.0)
    """
    if convention not in ("signed", "positive"):
        raise SloxideError(
            f"convention must be 'signed' or 'positive', got {convention!r}; pass one of them"
        )
    ks = [int(k) for k in harmonics]
    if not ks or any(k < 1 for k in ks) or len(set(ks)) < len(ks):
        raise SloxideError(
            f"harmonics must be distinct positive integers, got {harmonics!r}; pass e.g. "
            "harmonics=(2, 4)"
        )
    signal = signal.rename(signal.name or "signal")
    angle_deg = _angle_of(signal, angle, dim)
    values = np.asarray(angle_deg.values, dtype=float)
    _check_angles(values, 1 + 2 * len(ks))
    design = design_matrix(values, ks)
    units = units_of(signal) or "1"
    outputs = xr.apply_ufunc(
        _harmonics_kernel,
        signal.astype(float, copy=False),
        input_core_dims=[[dim]],
        output_core_dims=[
            [],
            [],
            ["harmonic"],
            ["harmonic"],
            ["harmonic"],
            ["harmonic"],
            [dim],
            [],
        ],
        kwargs={"design": design, "n_harmonics": len(ks), "signed": convention == "signed"},
        dask="parallelized",
        output_dtypes=[float] * 8,
        dask_gufunc_kwargs={"output_sizes": {"harmonic": len(ks)}},
    )
    c0, c0_err, c, c_err, omega, omega_err, fit, rms = outputs
    out = xr.Dataset(
        {
            "c0": c0.pipe(with_attrs, units=units, long_name="isotropic term c0"),
            "c0_stderr": c0_err.pipe(with_attrs, units=units, long_name="standard error of c0"),
            "c": c.pipe(with_attrs, units=units, long_name="harmonic amplitude c_k"),
            "c_stderr": c_err.pipe(with_attrs, units=units, long_name="standard error of c_k"),
            "omega": omega.pipe(with_attrs, units="deg", long_name="harmonic phase ω_k"),
            "omega_stderr": omega_err.pipe(
                with_attrs, units="deg", long_name="standard error of ω_k"
            ),
            "fit": fit.pipe(with_attrs, units=units, long_name="harmonic model"),
            "residual_rms": rms.pipe(
                with_attrs, units=units, long_name="residual standard deviation"
            ),
        },
        coords={"harmonic": ("harmonic", ks, {"long_name": "harmonic order k"})},
        attrs={"convention": convention},
    )
    return out.assign_coords({dim: signal[dim]}) if dim in signal.coords else out


def _amr_kernel(y: FloatArray, reference: str, zero_index: int) -> FloatArray:
    if np.isinf(y).any():
        raise DataError("the signal contains ±inf; mark missing readings as NaN")
    if y.shape[-1] == 0:
        raise DataError("the signal has no readings along the angle dim; check the run")
    finite = np.isfinite(y)
    if (~finite).all(axis=-1).any():
        raise DataError(
            "a curve is all NaN; AMR needs at least one reading: drop that curve first"
        )
    if reference == "max":
        ref = np.max(np.where(finite, y, -np.inf), axis=-1)
    elif reference == "mean":
        ref = np.where(finite, y, 0.0).sum(axis=-1) / finite.sum(axis=-1)
    else:
        ref = y[..., zero_index]
        if np.isnan(ref).any():  # else every AMR of that curve would be NaN, silently
            raise DataError(
                "reference='theta0', but the reading at θ = 0° is NaN in at least one curve; "
                "use reference='max' or 'mean', or drop that curve"
            )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(100.0 * (y - ref[..., None]) / ref[..., None])


@declare_units(signal="any", angle="deg")
def amr(
    signal: xr.DataArray,
    angle: xr.DataArray | None = None,
    *,
    dim: str = "angle",
    reference: Literal["max", "mean", "theta0"] = "max",
) -> xr.Dataset:
    """AMR in %: (R_θ − R_ref)/R_ref × 100 (PHYSICS.md §3).

    Parameters
    ----------
    signal : xarray.DataArray
        R_xx or ρ_xx over ``dim``, any units.
    angle : xarray.DataArray, optional
        Angles along ``dim``; default the ``dim`` coordinate.
    dim : str, default "angle"
    reference : {"max", "mean", "theta0"}, default "max"
        R_ref: the maximum (the paper's definition, so AMR ≤ 0; on noisy data
        the raw maximum is biased up by about 2σ), the mean, or R at θ = 0.

    Returns
    -------
    xarray.Dataset
        ``amr`` (..., dim) in %.

    Raises
    ------
    DataError
        For ±inf (in the signal or the angles), an empty or all-NaN curve, or
        ``reference="theta0"`` without a finite reading at θ = 0.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.amr import amr
    >>> theta = np.arange(0.0, 360.0, 90.0)
    >>> R = xr.DataArray([99.0, 100.0, 99.0, 100.0], dims="angle",
    ...                  coords={"angle": ("angle", theta, {"units": "deg"})}, attrs={"units": "ohm"})
    >>> amr(R).amr.values
    array([-1.,  0., -1.,  0.])
    """
    if reference not in AMR_REFERENCES:
        raise SloxideError(
            f"reference must be one of {AMR_REFERENCES}, got {reference!r}; pass one of them"
        )
    signal = signal.rename(signal.name or "signal")
    angle_deg = np.asarray(_angle_of(signal, angle, dim).values, dtype=float)
    if np.isinf(angle_deg).any():  # NaN is a missing angle; inf is corrupt (DESIGN.md)
        raise DataError("the angle holds ±inf; mark unknown angles as NaN or drop them")
    zero_index = -1
    if reference == "theta0":
        # A NaN angle must not be taken for 0°: argmin would pick it (issue 8).
        wrapped = np.abs((angle_deg + 180.0) % 360.0 - 180.0)
        wrapped = np.where(np.isfinite(wrapped), wrapped, np.inf)
        if wrapped.size == 0 or wrapped.min() > 1e-6:
            raise DataError(
                "reference='theta0' needs a reading at θ = 0°; none was found: use "
                "reference='max' or 'mean'"
            )
        zero_index = int(np.argmin(wrapped))
    refuse_empty_curves(
        signal, dim, str(signal.name), "AMR needs at least one reading: drop that curve first"
    )
    result = xr.apply_ufunc(
        _amr_kernel,
        signal.astype(float),
        input_core_dims=[[dim]],
        output_core_dims=[[dim]],
        kwargs={"reference": reference, "zero_index": zero_index},
        dask="parallelized",
        output_dtypes=[float],
    )
    return xr.Dataset(
        {
            "amr": result.pipe(
                with_attrs,
                units="percent",
                long_name=f"AMR (R − R_{reference})/R_{reference}",
                quantity="amr",
            )
        }
    )
