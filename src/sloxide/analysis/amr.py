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
from ..units import declare_units, parse_units, units_of, with_attrs
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


#: Curves are fitted in blocks of about this many bytes: a block stays in the last-level
#: cache while its maximum is taken, it is projected on the harmonics and its residual is
#: summed, so the stack is read from memory about once, whatever the outputs. 8 MB also
#: keeps the BLAS calls few: a threaded BLAS pays a start-up per call, which dominated
#: with 2 MB blocks on a busy 2-core machine (measured in benchmarks/amr.py).
_BLOCK_BYTES = 1 << 23


def _group_errors(
    design: FloatArray, n_harmonics: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pseudo-inverse (transposed), diagonal of (XᵀX)⁻¹ and its (a_k, b_k) cross terms."""
    inverse_normal = np.linalg.inv(design.T @ design)
    cross = np.array([inverse_normal[1 + 2 * j, 2 + 2 * j] for j in range(n_harmonics)])
    transform = np.asarray(np.linalg.pinv(design).T, dtype=np.float64)
    return transform, np.asarray(np.diagonal(inverse_normal), dtype=np.float64), cross


def _harmonics_kernel(
    y: FloatArray,
    design: FloatArray,
    n_harmonics: int,
    signed: bool,
    reference: str | None,
    zero_index: int,
    want_fit: bool,
) -> tuple[FloatArray, ...]:
    lead = y.shape[:-1]
    n_angle = y.shape[-1]
    n_params = design.shape[1]
    curves = y.reshape(-1, n_angle)
    n_curves = curves.shape[0]
    coef = np.empty((n_curves, n_params))
    rss = np.empty(n_curves)
    high, total = np.empty(n_curves), np.empty(n_curves)
    transform, shared_diag, shared_cross = _group_errors(design, n_harmonics)
    transform = np.ascontiguousarray(transform)
    design_t = np.ascontiguousarray(design.T)
    rows = max(1, _BLOCK_BYTES // (8 * max(n_angle, 1)))
    # One residual buffer for every block: a fresh block-sized temporary each time costs
    # more in page faults than the arithmetic. The residual is computed, not taken from
    # |y|² − cᵀ(XᵀX)c, whose cancellation would cost the errors 4 to 10 of their digits.
    buffer = np.empty((min(rows, n_curves), n_angle))
    with np.errstate(invalid="ignore", over="ignore"):
        for start in range(0, n_curves, rows):
            block = curves[start : start + rows]
            part = slice(start, start + block.shape[0])
            if reference == "max":
                high[part] = block.max(axis=-1)
            elif reference == "mean":
                total[part] = block.sum(axis=-1)
            block_coef = block @ transform
            coef[part] = block_coef
            resid = buffer[: block.shape[0]]
            np.matmul(block_coef, design_t, out=resid)
            np.subtract(block, resid, out=resid)
            rss[part] = np.einsum("ij,ij->i", resid, resid)
    dof = np.full(n_curves, float(n_angle - n_params))
    diag = np.broadcast_to(shared_diag, (n_curves, n_params)).copy()
    cross = np.broadcast_to(shared_cross, (n_curves, n_harmonics)).copy()
    count = np.full(n_curves, float(n_angle))
    # NaN or ±inf anywhere in a curve makes its residual sum non-finite: such curves are
    # redone below by NaN pattern (or refused), so the pass above needs no mask of the
    # stack's size, and what it computed for them is discarded.
    partial = np.flatnonzero(~np.isfinite(rss))
    if partial.size:
        rows_of = curves[partial]
        if np.isinf(rows_of).any():
            raise DataError("the signal contains ±inf; mark missing readings as NaN")
        finite = np.isfinite(rows_of)
        count[partial] = finite.sum(axis=-1)
        high[partial] = np.where(finite, rows_of, -np.inf).max(axis=-1)
        total[partial] = np.where(finite, rows_of, 0.0).sum(axis=-1)
        high[partial[count[partial] == 0]] = np.nan
        for target in (coef, rss, diag, cross):
            target[partial] = np.nan
        dof[partial] = 0.0
        # Curves with missing readings are grouped by NaN pattern; each group gets its own
        # pseudo-inverse (PHYSICS.md §3, "Vectorize").
        patterns, group = np.unique(finite, axis=0, return_inverse=True)
        for index, pattern in enumerate(patterns):
            used = design[pattern]
            if pattern.sum() <= n_params or np.linalg.matrix_rank(used) < n_params:
                continue  # under-determined: left NaN
            members = partial[group.ravel() == index]
            g_transform, g_diag, g_cross = _group_errors(used, n_harmonics)
            block = curves[members][:, pattern]
            coef[members] = block @ g_transform
            resid = block - coef[members] @ used.T
            rss[members] = np.einsum("ij,ij->i", resid, resid)
            dof[members] = pattern.sum() - n_params
            diag[members], cross[members] = g_diag, g_cross
    # Residual sums and the ω errors (c⁴) need squares of the signal inside float64. The
    # coefficients and the residual scale bound a curve's magnitudes to within a factor of
    # the number of angles, ample against the 1e±50 of FIT_RANGE; no extra pass is needed.
    with np.errstate(invalid="ignore"):
        magnitude = np.concatenate([coef, np.sqrt(rss / n_angle)[:, None]], axis=-1)
    require_fittable(magnitude, "the signal")
    if not np.isfinite(coef).any():
        raise DataError(
            f"no curve has more than {n_params} finite readings (at angles that separate the "
            f"harmonics) for the {n_params}-parameter harmonic fit; measure more angles or "
            "fit fewer harmonics="
        )
    if reference is not None:
        # AMR = 100·(R − R_ref)/R_ref is linear in R, so the harmonics of the AMR are those
        # of R scaled by 100/R_ref, c0 shifted by −100 (PHYSICS.md §3): no AMR array of
        # the stack's size is ever made.
        if reference == "max":
            ref = high
        elif reference == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                ref = total / count
        else:
            ref = curves[:, zero_index]
            if np.isnan(ref).any():  # else every AMR of that curve would be NaN, silently
                raise DataError(
                    "reference='theta0', but the reading at θ = 0° is NaN in at least one "
                    "curve; use reference='max' or 'mean', or drop that curve"
                )
        if (ref == 0).any():
            raise DataError(
                f"the AMR reference ({reference}) is 0 in a curve, so the AMR is undefined; "
                "check the signal is a resistance, or pass reference=None"
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = 100.0 / ref
        coef *= scale[:, None]
        coef[:, 0] -= 100.0
        rss *= scale**2
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.where(dof > 0, rss / dof, np.nan)
    c0 = coef[:, 0]
    a, b = coef[:, 1::2], coef[:, 2::2]
    var_a = variance[:, None] * diag[:, 1::2]
    var_b = variance[:, None] * diag[:, 2::2]
    cov_ab = variance[:, None] * cross
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
    outputs = (
        c0.reshape(lead),
        np.sqrt(variance * diag[:, 0]).reshape(lead),
        c.reshape(*lead, n_harmonics),
        c_err.reshape(*lead, n_harmonics),
        np.rad2deg(omega).reshape(*lead, n_harmonics),
        np.rad2deg(omega_err).reshape(*lead, n_harmonics),
        np.sqrt(variance).reshape(lead),
    )
    if want_fit:
        return (*outputs, (coef @ design.T).reshape(y.shape))
    return outputs


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
    reference: Literal["auto", "max", "mean", "theta0"] | None = "auto",
    fit: bool = False,
) -> xr.Dataset:
    """Fit c0 + Σ_k c_k·cos(kθ − ω_k) to AMR curves by linear least squares.

    The design matrix [1, cos kθ, sin kθ, ...] is pseudo-inverted once (once
    per NaN pattern) and applied to the whole stack with one contraction
    (PHYSICS.md §3, "Vectorize"). c_k = hypot(a_k, b_k), ω_k = atan2(b_k, a_k);
    maxima lie at θ = ω_k/k + j·360°/k. The stack is read once, in cache-sized
    blocks, and the AMR normalization is applied to the coefficients, so no
    array of the stack's size is made unless ``fit=True`` asks for the model.

    Parameters
    ----------
    signal : xarray.DataArray
        R_xx, ρ_xx or AMR % over ``dim``, any units.
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
    reference : {"auto", "max", "mean", "theta0"} or None, default "auto"
        Fit the AMR in % relative to this reading of each curve (as the paper
        does, PHYSICS.md §3), or the signal in its own units (None). "auto":
        "max" for a resistance or resistivity, None for a dimensionless signal
        (an AMR already in %).
    fit : bool, default False
        Also return the fitted model on the signal's grid (an array of the
        stack's size).

    Returns
    -------
    xarray.Dataset
        ``c0`` (...), ``c`` and ``omega`` on dim ``harmonic`` (omega in deg),
        ``c_stderr``, ``omega_stderr`` (deg), ``c0_stderr``, ``residual_rms``,
        and ``fit`` (..., dim) with ``fit=True``; in % with a reference, else
        in the signal's units. Standard errors come from
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
    resolved = _resolve_reference(reference, signal)
    zero_index = _zero_index(values) if resolved == "theta0" else -1
    if resolved is not None:
        refuse_empty_curves(
            signal, dim, str(signal.name), "AMR needs at least one reading: drop that curve first"
        )
    units = "percent" if resolved is not None else units_of(signal) or "1"
    core = [[], [], ["harmonic"], ["harmonic"], ["harmonic"], ["harmonic"], []]
    outputs = xr.apply_ufunc(
        _harmonics_kernel,
        signal.astype(float, copy=False),
        input_core_dims=[[dim]],
        output_core_dims=core + [[dim]] if fit else core,
        kwargs={
            "design": design,
            "n_harmonics": len(ks),
            "signed": convention == "signed",
            "reference": resolved,
            "zero_index": zero_index,
            "want_fit": bool(fit),
        },
        dask="parallelized",
        output_dtypes=[float] * (len(core) + bool(fit)),
        dask_gufunc_kwargs={"output_sizes": {"harmonic": len(ks)}},
    )
    c0, c0_err, c, c_err, omega, omega_err, rms = outputs[:7]
    variables = {
        "c0": c0.pipe(with_attrs, units=units, long_name="isotropic term c0"),
        "c0_stderr": c0_err.pipe(with_attrs, units=units, long_name="standard error of c0"),
        "c": c.pipe(with_attrs, units=units, long_name="harmonic amplitude c_k"),
        "c_stderr": c_err.pipe(with_attrs, units=units, long_name="standard error of c_k"),
        "omega": omega.pipe(with_attrs, units="deg", long_name="harmonic phase ω_k"),
        "omega_stderr": omega_err.pipe(with_attrs, units="deg", long_name="standard error of ω_k"),
        "residual_rms": rms.pipe(with_attrs, units=units, long_name="residual standard deviation"),
    }
    if fit:
        variables["fit"] = outputs[7].pipe(with_attrs, units=units, long_name="harmonic model")
    out = xr.Dataset(
        variables,
        coords={"harmonic": ("harmonic", ks, {"long_name": "harmonic order k"})},
        attrs={"convention": convention, "reference": str(resolved)},
    )
    return out.assign_coords({dim: signal[dim]}) if dim in signal.coords else out


def _resolve_reference(reference: str | None, signal: xr.DataArray) -> str | None:
    """The AMR reference, with "auto" resolved from the signal's units."""
    if reference is None or reference in AMR_REFERENCES:
        return reference
    if reference != "auto":
        raise SloxideError(
            f"reference must be 'auto', one of {AMR_REFERENCES} or None, got {reference!r}"
        )
    dimensionless = parse_units(units_of(signal) or "1").dimensionless
    return None if dimensionless else "max"


def _zero_index(angle_deg: FloatArray) -> int:
    """The index of the reading at θ = 0° (mod 360°), for reference="theta0"."""
    # A NaN angle must not be taken for 0°: argmin would pick it.
    wrapped = np.abs((angle_deg + 180.0) % 360.0 - 180.0)
    wrapped = np.where(np.isfinite(wrapped), wrapped, np.inf)
    if wrapped.size == 0 or wrapped.min() > 1e-6:
        raise DataError(
            "reference='theta0' needs a reading at θ = 0°; none was found: use "
            "reference='max' or 'mean'"
        )
    return int(np.argmin(wrapped))


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
    zero_index = _zero_index(angle_deg) if reference == "theta0" else -1
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
