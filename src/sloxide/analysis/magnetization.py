"""Magnetization against temperature: tangent-method Curie temperature and substrate background.

PHYSICS.md section 5: a Savitzky–Golay first derivative (window 9, order 2)
locates the steepest descent T*; a line fitted to the raw M over
|T − T*| ≤ 5 K crosses zero at T_c. T* is the inflection, not T_c (61 vs
75.6 K for the section 7 model).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from scipy.signal import savgol_filter

from ..errors import DataError, SloxideError, SloxideWarning
from ..units import declare_units, difference, to_magnitude, with_attrs
from .chunks import require_single_chunk
from .leastsq import local_polyfit, masked_lstsq, require_fittable

__all__ = ["curie_temperature", "substrate_background", "BACKGROUND_FRACTION"]

FloatArray = NDArray[np.float64]


def _ascending(t: FloatArray, m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Check the temperature axis is strictly monotonic and return both in ascending T."""
    if np.isinf(t).any() or np.isinf(m).any():
        raise DataError("temperature or moment contains ±inf; mark missing readings as NaN")
    if not np.isfinite(t).all():
        raise DataError("the temperature holds NaN; drop those readings first (ds.dropna(dim))")
    t, m = np.broadcast_arrays(t, m)
    step = np.diff(t, axis=-1)
    rising = np.all(step > 0, axis=-1)
    falling = np.asarray(np.all(step < 0, axis=-1))
    if not np.all(rising | falling):
        raise DataError(
            "the temperature is not strictly monotonic (repeated or unsorted readings); sort "
            "and de-duplicate it first, e.g. ds.sortby('temperature')"
        )
    flip = falling[..., None]
    return np.where(flip, t[..., ::-1], t), np.where(flip, m[..., ::-1], m)


def _fill_gaps(t: FloatArray, m: FloatArray) -> FloatArray:
    """Linear interpolation over NaN readings, per curve, for the derivative only."""
    finite = np.isfinite(m)
    n = m.shape[-1]
    idx = np.arange(n)
    before = np.maximum.accumulate(np.where(finite, idx, 0), axis=-1)
    after = np.minimum.accumulate(np.where(finite, idx, n - 1)[..., ::-1], axis=-1)[..., ::-1]
    t0, t1 = np.take_along_axis(t, before, -1), np.take_along_axis(t, after, -1)
    m0, m1 = np.take_along_axis(m, before, -1), np.take_along_axis(m, after, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(t1 > t0, (t - t0) / (t1 - t0), 0.0)
    filled = np.where(finite, m, m0 + w * (m1 - m0))
    return np.where(np.isfinite(filled), filled, np.where(np.isfinite(m0), m0, m1))


#: Without a given ``fit_min_temperature``, the substrate background is fitted on the
#: warmest third of each sweep: a field-cooled sweep starts well above T_c (150 K for
#: 75 K films), and the tangent check below refuses a third that reaches into the
#: transition instead of trusting it.
BACKGROUND_FRACTION = 1.0 / 3.0

#: Why a tangent T_c was refused (NaN), in the order the checks run.
_REFUSALS = {
    1: "M nowhere falls faster than the extrapolated background could (measure to higher "
    "temperature or with less noise)",
    2: "the steepest descent lies at the end of the sweep, not at an inflection inside it "
    "(a paramagnetic tail or an unsubtracted background?)",
    3: "the tangent does not fall significantly (M does not drop in the measured range)",
    4: "the tangent crosses zero outside the measured temperatures",
    5: "the tangent cannot place T_c within its own half-width (Tc_stderr > window)",
    6: "the background fit (T ≥ fit_min_temperature) reaches into the transition "
    "(T_c + 3·window > fit_min_temperature)",
}


def _default_fit_min(t: FloatArray) -> FloatArray:
    """The lower bound of the warmest :data:`BACKGROUND_FRACTION` of each sweep."""
    high, low = np.nanmax(t, axis=-1), np.nanmin(t, axis=-1)
    return high - BACKGROUND_FRACTION * (high - low)


def _curie_kernel(
    t: FloatArray,
    m: FloatArray,
    window: float,
    savgol_window: int,
    savgol_order: int,
    subtract_background: bool,
    fit_min_temperature: float | None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    t, m = _ascending(t, m)
    n_finite = np.isfinite(m).sum(axis=-1)
    if (n_finite < savgol_window).any():
        raise DataError(
            f"the tangent method needs at least {savgol_window} readings (the Savitzky-Golay "
            f"window); a curve has {int(n_finite.min())}: measure more temperatures"
        )
    # The tangent squares M and T: refuse magnitudes that would leave float64.
    require_fittable(m, "the moment")
    require_fittable(t, "the temperature", "K")
    span = float(np.min(t[..., -1] - t[..., 0]))
    if 2 * window >= span:
        raise DataError(
            f"window = ±{window:g} K spans the whole {span:g} K temperature sweep: the tangent "
            f"would be a "
            f"line through all of M(T), not through its steepest stretch; pass a window "
            f"below {span / 4:g} K (default 5 K)"
        )
    fit_min = np.broadcast_to(
        _default_fit_min(t) if fit_min_temperature is None else fit_min_temperature,
        t.shape[:-1],
    )
    # Slopes of M that the background's extrapolation could have made: none without one.
    doubtful_slope = np.zeros_like(t)
    if subtract_background:
        # PHYSICS.md §5: subtract the substrate's χ_d·H + C·H/T before the tangent; its
        # Curie tail alone makes M steepest at the lowest temperature.
        background, _, _, curie_stderr = _background_kernel(t, m, fit_min)
        m = m - background
        # C·H is fitted above fit_min; extrapolated to 2 K its error δC/T is steeper than
        # the film's transition when the moment is noisy. The steepest descent is only
        # sought where the slope stands 5σ above that error's own derivative (the same
        # filter applied to 1/T): a false refusal in one curve in a million.
        inverse_t_slope = savgol_filter(1.0 / t, savgol_window, savgol_order, deriv=1, axis=-1)
        doubtful_slope = 5 * curie_stderr[..., None] * np.abs(inverse_t_slope)
    step = np.diff(t, axis=-1)
    delta = np.median(step, axis=-1)
    if (np.abs(step - delta[..., None]) > 0.1 * delta[..., None]).any():
        raise DataError(
            "the temperature steps are not uniform (> 10 % apart), which the Savitzky-Golay "
            "derivative assumes; interpolate first, e.g. ds.interp(temperature=np.arange(2, 150))"
        )
    slope = savgol_filter(_fill_gaps(t, m), savgol_window, savgol_order, deriv=1, axis=-1)
    slope = slope / delta[..., None]
    slope = np.where(-slope > doubtful_slope / delta[..., None], slope, np.inf)
    # Where the steepest slope is a plateau (a linear stretch of M), take its centre.
    steepest = slope.min(axis=-1, keepdims=True)
    on_plateau = slope <= steepest + 1e-9 * np.abs(steepest)
    first = np.argmax(on_plateau, axis=-1)
    last = on_plateau.shape[-1] - 1 - np.argmax(on_plateau[..., ::-1], axis=-1)
    k = (first + last) // 2
    t_star = np.take_along_axis(t, k[..., None], axis=-1)[..., 0]
    fit = local_polyfit(t, m, t_star, window, 1)
    c0, c1 = fit.coef[..., 0], fit.coef[..., 1]
    var0, var1, cov01 = fit.cov[..., 0, 0], fit.cov[..., 1, 1], fit.cov[..., 0, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        tc = t_star - c0 / c1
        tc_err = np.sqrt(var0 / c1**2 + c0**2 * var1 / c1**4 - 2 * c0 * cov01 / c1**3)
    # A tangent T_c is refused (NaN, with the reason) rather than returned quietly wrong.
    edge = savgol_window // 2
    refusal = np.select(
        [
            ~np.isfinite(steepest[..., 0]),
            (k < edge) | (k >= t.shape[-1] - edge),
            # Only a falling tangent crosses zero at a Curie temperature; on a flat
            # stretch c1 is rounding noise and −c0/c1 gave "T_c" of 1e16 K.
            ~(c1 < -np.maximum(3 * fit.stderr[..., 1], 1e-12 * np.abs(c0) / window)),
            ~((tc >= t[..., 0]) & (tc <= t[..., -1])),
            ~(tc_err <= window),
            subtract_background & (tc + 3 * window > fit_min),
        ],
        list(_REFUSALS),
        0,
    )
    _warn_refused(refusal, fit_min_temperature is None and subtract_background)
    refused = refusal > 0
    return (
        np.where(refused, np.nan, tc),
        np.where(refused, np.nan, tc_err),
        t_star,
        c1,
    )


def _warn_refused(refusal: NDArray[np.int_], default_fit_min: bool) -> None:
    codes, counts = np.unique(refusal[refusal > 0], return_counts=True)
    if not codes.size:
        return
    reasons = "; ".join(f"{n} × {_REFUSALS[int(c)]}" for c, n in zip(codes, counts, strict=True))
    hint = (
        "measure to higher temperature, pass fit_min_temperature= (K) above the transition, "
        "or subtract_background=False for a curve without a substrate (σ_AH(T), Δρ(T))"
        if default_fit_min or 6 in codes
        else "check the sweep covers the transition"
    )
    warnings.warn(
        f"Tc is NaN for {int(counts.sum())} of {refusal.size} curve(s): {reasons}; {hint}",
        SloxideWarning,
        stacklevel=2,
    )


def _temperature_for(
    moment: xr.DataArray, temperature: xr.DataArray | None, dim: str
) -> xr.DataArray:
    if dim not in moment.dims:
        raise DataError(f"the moment has dims {moment.dims}, not {dim!r}; pass dim=")
    require_single_chunk(moment, dim, "moment")
    if temperature is not None:
        require_single_chunk(temperature, dim, "temperature")
    if temperature is not None:
        return temperature
    if dim not in moment.coords:
        raise DataError(f"no temperature: pass temperature= or give the {dim!r} dim a coordinate")
    # declare_units converts the temperature argument; the coordinate is converted here.
    return to_magnitude(moment[dim].reset_coords(drop=True), "K", f"the {dim!r} coordinate")


@declare_units(moment="any", temperature="K", window=difference("K"), fit_min_temperature="K")
def curie_temperature(
    moment: xr.DataArray,
    temperature: xr.DataArray | None = None,
    *,
    dim: str = "temperature",
    window: float = 5.0,
    subtract_background: bool = True,
    fit_min_temperature: float | None = None,
    savgol_window: int = 9,
    savgol_order: int = 2,
) -> xr.Dataset:
    """Curie temperature by the tangent method (PHYSICS.md section 5).

    By default the substrate background a + b/T is first fitted on the warmest
    third of the sweep and subtracted (:func:`substrate_background`), so a raw
    film-on-substrate M(T) gives the film's T_c. A T_c that cannot be trusted is
    NaN with a :class:`~sloxide.errors.SloxideWarning` that says why and what to
    pass: a steepest descent at the end of the sweep, a tangent that does not fall
    or crosses zero outside the data, a T_c less certain than ``window``, or a
    background fit that reaches into the transition.

    Parameters
    ----------
    moment : xarray.DataArray
        M(T) along ``dim``, any units (also works on σ_AH(T) or Δρ_AHE(T), with
        ``subtract_background=False``).
    temperature : xarray.DataArray, optional
        T along ``dim`` (e.g. the readback of a cooling sweep), any
        temperature units. Default: the ``dim`` coordinate, which then needs
        units.
    dim : str, default "temperature"
        The sweep dim; cooling and warming sweeps both work.
    window : float, default 5
        Half-width in K of the tangent line fit around T*: a temperature
        difference (K or ``delta_degC``; a bare ``degC`` is refused), less than
        half the sweep.
    subtract_background : bool, default True
        Fit and subtract the substrate background χ_d·H + C·H/T (PHYSICS.md §5)
        at T ≥ ``fit_min_temperature`` first. Harmless on a curve without one;
        pass False for a curve that does not reach above T_c + 3·window.
    fit_min_temperature : float, optional
        Lower bound in K of the background fit. Default: the warmest third of
        each sweep. It must lie above T_c + 3·window, or T_c is refused.
    savgol_window, savgol_order : int, default 9, 2
        Savitzky–Golay derivative settings.

    Returns
    -------
    xarray.Dataset
        ``Tc`` and ``Tc_stderr`` (tangent zero crossing) and ``T_inflection``
        (T*, steepest descent), in K; ``tangent_slope`` in moment units per K,
        of the background-subtracted moment. ``Tc`` is NaN, with a warning,
        where it is refused (see above).

    Warns
    -----
    SloxideWarning
        When ``Tc`` is refused for one or more curves, with the reasons.

    Raises
    ------
    DataError
        For a non-monotonic or non-uniform temperature axis, ±inf, fewer
        readings than the derivative window, a window as wide as the sweep, or
        magnitudes outside :data:`~sloxide.analysis.leastsq.FIT_RANGE`.
    UnitsError
        For a window in an offset unit (``"5 degC"``; write ``"5 delta_degC"``).
    SloxideError
        For a window that is not positive and finite.

    Examples
    --------
    Piecewise-linear M: 1 below 40 K, 0 from 75 K (PHYSICS.md §8, check 13):

    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.magnetization import curie_temperature
    >>> t = np.arange(2.0, 151.0)
    >>> m = xr.DataArray(np.clip((75 - t) / 35, 0, 1), dims="temperature",
    ...                  coords={"temperature": ("temperature", t, {"units": "K"})},
    ...                  attrs={"units": "emu"})
    >>> round(float(curie_temperature(m).Tc), 2)
    75.0
    """
    if savgol_window % 2 == 0 or savgol_order >= savgol_window:
        raise SloxideError(
            "savgol_window must be odd and larger than savgol_order; pass e.g. "
            "savgol_window=9, savgol_order=2"
        )
    # 0, NaN or inf would leave the tangent fit no readings, or all of them.
    if not (np.isfinite(window) and window > 0):
        raise SloxideError(
            f"window must be a positive, finite half-width in K, got {window!r}; pass e.g. "
            "window=5"
        )
    temperature = _temperature_for(moment, temperature, dim)
    tc, tc_err, t_star, slope = xr.apply_ufunc(
        _curie_kernel,
        temperature.astype(float),
        moment.astype(float),
        input_core_dims=[[dim], [dim]],
        output_core_dims=[[], [], [], []],
        kwargs={
            "window": window,
            "savgol_window": savgol_window,
            "savgol_order": savgol_order,
            "subtract_background": bool(subtract_background),
            "fit_min_temperature": fit_min_temperature,
        },
        dask="parallelized",
        output_dtypes=[float] * 4,
    )
    moment_units = moment.attrs.get("units", "1")
    return xr.Dataset(
        {
            "Tc": tc.pipe(with_attrs, units="K", long_name="Curie temperature (tangent method)"),
            "Tc_stderr": tc_err.pipe(with_attrs, units="K", long_name="standard error of T_c"),
            "T_inflection": t_star.pipe(
                with_attrs, units="K", long_name="inflection T* (steepest descent of M)"
            ),
            "tangent_slope": slope.pipe(
                with_attrs,
                units=f"({moment_units}) / K",
                long_name="slope of the tangent, which crosses zero at T_c",
            ),
        }
    )


def _background_kernel(
    t: FloatArray, m: FloatArray, fit_min_temperature: float | FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    if np.isinf(m).any():
        raise DataError("the moment contains ±inf; mark missing readings as NaN")
    t, m = np.broadcast_arrays(t, m)
    fit_min = np.asarray(fit_min_temperature, dtype=float)[..., None]
    use = (t >= fit_min) & np.isfinite(m) & np.isfinite(t)
    if (use.sum(axis=-1) < 3).any():
        raise DataError(
            f"fewer than 3 readings above fit_min_temperature = {float(np.min(fit_min)):g} K "
            "for the background fit; measure to higher temperature or lower "
            "fit_min_temperature"
        )
    with np.errstate(divide="ignore"):
        design = np.stack([np.ones_like(t), 1.0 / t], axis=-1)
    fit = masked_lstsq(np.where(use[..., None], design, 0.0), m, use)
    background = fit.coef[..., 0:1] + fit.coef[..., 1:2] / t
    return background, fit.coef[..., 0], fit.coef[..., 1], fit.stderr[..., 1]


def _substrate_kernel(
    t: FloatArray, m: FloatArray, fit_min_temperature: float | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    t = np.broadcast_to(t, m.shape)
    fit_min = _default_fit_min(t) if fit_min_temperature is None else fit_min_temperature
    return _background_kernel(t, m, fit_min)[:3]


@declare_units(moment="any", temperature="K", fit_min_temperature="K")
def substrate_background(
    moment: xr.DataArray,
    temperature: xr.DataArray | None = None,
    *,
    dim: str = "temperature",
    fit_min_temperature: float | None = None,
) -> xr.Dataset:
    """Fit and subtract the substrate background χ_d·H + C·H/T from M(T) at fixed field.

    The superlattice moment vanishes well above T_c (PHYSICS.md §5), so
    M = a + b/T is fitted for T ≥ ``fit_min_temperature`` and subtracted
    everywhere; a = χ_d·H (diamagnetic LSAT) and b = C·H (paramagnetic
    impurities).

    Parameters
    ----------
    moment : xarray.DataArray
        M(T) along ``dim``, any units.
    temperature : xarray.DataArray, optional
        T along ``dim``; default the ``dim`` coordinate.
    dim : str, default "temperature"
    fit_min_temperature : float, optional
        Lower bound in K of the background fit. Default: the warmest third of
        each sweep (:data:`BACKGROUND_FRACTION`).

    Returns
    -------
    xarray.Dataset
        ``moment`` (background subtracted) and ``background`` on the input's
        dims, ``background_constant`` (a) and ``background_curie`` (b, in
        moment units × K), all in the moment's units.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.magnetization import substrate_background
    >>> t = np.arange(2.0, 301.0)
    >>> m = xr.DataArray(np.clip((75 - t) / 35, 0, 1) - 0.01 + 0.5 / t, dims="temperature",
    ...                  coords={"temperature": ("temperature", t, {"units": "K"})},
    ...                  attrs={"units": "emu/cm^3"})
    >>> out = substrate_background(m)
    >>> round(float(out.background_constant), 6), round(float(out.background_curie), 6)
    (-0.01, 0.5)
    """
    temperature = _temperature_for(moment, temperature, dim)
    units = moment.attrs["units"]
    background, constant, curie = xr.apply_ufunc(
        _substrate_kernel,
        temperature.astype(float),
        moment.astype(float),
        input_core_dims=[[dim], [dim]],
        output_core_dims=[[dim], [], []],
        kwargs={"fit_min_temperature": fit_min_temperature},
        dask="parallelized",
        output_dtypes=[float] * 3,
    )
    return xr.Dataset(
        {
            "moment": (moment - background).pipe(
                with_attrs,
                units=units,
                quantity="moment",
                long_name="moment, substrate background subtracted",
            ),
            "background": background.pipe(
                with_attrs, units=units, long_name="substrate background"
            ),
            "background_constant": constant.pipe(
                with_attrs, units=units, long_name="temperature-independent background χ_d·H"
            ),
            "background_curie": curie.pipe(
                with_attrs, units=f"({units}) * K", long_name="Curie background C·H (divided by T)"
            ),
        }
    )
