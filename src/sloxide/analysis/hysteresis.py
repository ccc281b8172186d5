"""Magnetization loops M(H) from a VSM or SQUID magnetometer: coercive field, remanence, M_s.

An M(H) loop is the same shape as an anomalous Hall loop: a hysteretic
``M_s·f(H)`` on a line through the origin (here the diamagnetic substrate and
holder, or a paramagnetic background, instead of the ordinary Hall effect).
So the AHE kernel of :mod:`sloxide.analysis.hall` does the work on loops that
:mod:`sloxide.analysis.loops` has binned: the branches are antisymmetrized, ``m = χ·µ0H + M_s·sgn(H)`` is fitted to both on
|µ0H| ≥ ``fit_min_field`` (where the loop is closed), the line is removed, and
the branch zero crossings give the coercive and exchange-bias fields
(PHYSICS.md §1, steps 2–7, with ρ_xy → m and R0 → χ).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import DataError
from ..units import declare_units, labelled_dataset
from .hall import _map_ahe_kernel, check_loop_windows
from .loops import field_grid_of, require_branches

__all__ = ["hysteresis", "MOMENT_UNITS"]

#: Units the loop is computed in; outputs are in emu and T.
MOMENT_UNITS = "emu"

_OUTPUTS: dict[str, tuple[int, str, str]] = {
    # name: (index in the AHE kernel's outputs, hall._AHE_OUTPUTS; units, long_name)
    "moment_corrected": (0, MOMENT_UNITS, "moment with the linear high-field background removed"),
    "background_slope": (1, "emu / T", "slope χ of the linear high-field background"),
    "background_slope_stderr": (2, "emu / T", "standard error of the background slope"),
    "saturation_moment": (3, MOMENT_UNITS, "saturation moment M_s (background removed)"),
    "saturation_moment_stderr": (4, MOMENT_UNITS, "standard error of M_s"),
    "coercive_field": (5, "T", "coercive field µ0H_C = (H_up − H_down)/2"),
    "coercive_field_stderr": (6, "T", "standard error of µ0H_C"),
    "exchange_bias": (7, "T", "exchange-bias field µ0H_EB = (H_up + H_down)/2"),
    "remanence": (8, MOMENT_UNITS, "remanent moment M_r = [M^down(0) − M^up(0)]/2"),
    "remanence_stderr": (9, MOMENT_UNITS, "standard error of M_r"),
    "squareness": (10, "1", "loop squareness M_r/M_s"),
    "fit_min_field": (14, "T", "lower |µ0H| bound of the background fit"),
}


def _in_moment_words(exc: Exception) -> str:
    return (
        str(exc)
        .replace("rho_xy", "moment")
        .replace("the R0 fit window", "the background fit window")
        .replace("µΩ·cm", "emu")
        .replace("Δρ_AHE", "M_s")
    )


@declare_units(moment=MOMENT_UNITS, fit_min_field="T", crossing_window="T")
def hysteresis(
    moment: xr.DataArray,
    *,
    field_dim: str = "field",
    branch_dim: str = "branch",
    fit_min_field: float | None = None,
    crossing_window: float = 0.1,
) -> xr.Dataset:
    """Coercive field, exchange bias, remanence and saturation moment of binned M(H) loops.

    Parameters
    ----------
    moment : xarray.DataArray
        Magnetic moment on dims (..., ``branch_dim``, ``field_dim``), as
        :func:`sloxide.analysis.loops.branches` returns a sweep; any moment units
        (emu, A·m²). The field coordinate needs units.
    field_dim, branch_dim : str, default "field", "branch"
    fit_min_field : float, optional
        Lower |µ0H| of the background fit in T; default half the largest field.
        The loop must be closed there.
    crossing_window : float, default 0.1
        Half-width in T of the line fits at the zero crossings and at zero field.

    Returns
    -------
    xarray.Dataset
        ``coercive_field``, ``exchange_bias`` (T); ``remanence``,
        ``saturation_moment`` (emu); ``background_slope`` (emu/T, the linear
        high-field background that was removed); ``squareness``;
        ``moment_corrected`` (..., branch, field) in emu; ``<name>_stderr``
        where fitted. Coercive field, exchange bias and squareness are NaN where
        M_s is not resolved (< 3 standard errors), e.g. a paramagnet.

    Raises
    ------
    FitError
        If the background window holds too few readings, or the loop is still
        open there.
    DataError
        If the data are not binned branches on a symmetric grid, or hold ±inf.
    UnitsError
        If the moment lacks units or has incompatible ones.

    Examples
    --------
    A tanh loop of M_s = 2e-5 emu, µ0H_C = 0.3 T on a diamagnetic −1e-6 emu/T:

    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.hysteresis import hysteresis
    >>> h = np.round(np.arange(-250, 251) * 0.02, 10)
    >>> loop = np.stack([np.tanh((h - 0.3) / 0.1), np.tanh((h + 0.3) / 0.1)])
    >>> m = xr.DataArray(-1e-6 * h + 2e-5 * loop, dims=("branch", "field"),
    ...     coords={"branch": ["up", "down"], "field": ("field", h, {"units": "T"})},
    ...     attrs={"units": "emu"})
    >>> out = hysteresis(m)
    >>> float(out.saturation_moment), round(float(out.coercive_field), 3)
    (2e-05, 0.3)
    >>> float(out.background_slope)
    -1e-06
    """
    check_loop_windows(crossing_window, fit_min_field)
    moment = moment.rename(moment.name or "moment")
    require_branches(moment, branch_dim, field_dim)
    h = field_grid_of(moment, field_dim)
    core = [branch_dim, field_dim]
    try:
        results = _map_ahe_kernel(
            moment,
            xr.full_like(moment, np.nan),
            core,
            h=h,
            fit_min_field=fit_min_field,
            crossing_window=crossing_window,
            sigma_scale=(1.0, 1.0),
            convention="paper",
        )
    except DataError as exc:  # FitError too: the AHE wording, said of a moment
        raise type(exc)(_in_moment_words(exc)) from None
    table = [(name, units, long_name) for name, (_, units, long_name) in _OUTPUTS.items()]
    out = labelled_dataset(table, [results[index] for index, _, _ in _OUTPUTS.values()])
    return out.transpose(..., branch_dim, field_dim)
