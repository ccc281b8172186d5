"""X-ray linear dichroism and orbital polarization (PHYSICS.md section 4).

θ is the incidence angle from the surface with E in the scattering plane, so
I(θ) = I_ab·sin²θ + I_c·cos²θ: 90° measures I_ab, grazing angles mostly I_c.
Any two distinct angles determine I_ab and I_c; without the geometry
correction the grazing spectrum is taken as I_c (the uncorrected
I_90 − I_30 is 0.75·XLD).

Orbital polarization from the white-line integrals of the Ni L2 edge
[R: Wu et al., PRB 88, 125124]: I_c ∝ 4h_z and I_ab ∝ h_z + 3h_x, so
X = h_z/h_x = 3r/(4 − r) with r = ∫I_c/∫I_ab, and
P = (n_x − n_z)/(n_x + n_z) = (4/n_eg − 1)·(X − 1)/(X + 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from scipy.special import erf

from ..constants import NI_L2_STEP_CENTER, NI_L2_STEP_WIDTH, O_K_BANDS
from ..errors import DataError, SloxideError
from ..units import (
    check_units,
    conversion_factors,
    declare_units,
    to_magnitude,
    units_of,
    with_attrs,
)
from .chunks import refuse_inf, require_single_chunk
from .leastsq import masked_lstsq

__all__ = [
    "NI_L2_WINDOW",
    "NI_L2_STEP_CENTER",
    "NI_L2_STEP_WIDTH",
    "O_K_BANDS",
    "incidence_intensity",
    "edge_step_function",
    "geometry_weights",
    "xld",
    "orbital_polarization",
    "band_integrals",
    "hole_ratio_from_polarization",
]

FloatArray = NDArray[np.float64]

#: Integration window of the Ni L2 white line, eV [A]: it holds the Ni²⁺ (870.2,
#: 871.2 eV) and Ni³⁺ (871.6 eV) peaks of the paper and their tails.
NI_L2_WINDOW = (866.0, 878.0)
# NI_L2_STEP_CENTER, NI_L2_STEP_WIDTH (the Ni L2 erf step) and O_K_BANDS (the paper's
# O K bands) are shared with the model: sloxide.constants.


def incidence_intensity(i_ab: Any, i_c: Any, incidence_angle_deg: Any) -> Any:
    """I(θ) = I_ab·sin²θ + I_c·cos²θ, θ from the surface.

    Examples
    --------
    PHYSICS.md §8 check 10:

    >>> from sloxide.analysis.xld import incidence_intensity
    >>> round(float(incidence_intensity(1.0, 1.2, 30.0)), 6)
    1.15
    """
    theta = np.deg2rad(incidence_angle_deg)
    return i_ab * np.sin(theta) ** 2 + i_c * np.cos(theta) ** 2


def edge_step_function(energy: Any, center: float, width: float, height: float = 1.0) -> Any:
    """Isotropic erf edge step height·½[1 + erf((E − center)/width)].

    Examples
    --------
    >>> from sloxide.analysis.xld import edge_step_function
    >>> float(edge_step_function(870.6, 870.6, 0.8))
    0.5
    """
    return height * 0.5 * (1.0 + erf((np.asarray(energy, dtype=float) - center) / width))


def geometry_weights(angles_deg: Any, geometry_correction: bool = True) -> FloatArray:
    """The 2×2 matrix W with [I_ab, I_c] = W·[I(θ1), I(θ2)].

    With the correction, W inverts [[sin²θ1, cos²θ1], [sin²θ2, cos²θ2]];
    any two distinct angles work. Without it, one angle must be 90° (I_ab)
    and the other is taken as I_c.

    Examples
    --------
    >>> from sloxide.analysis.xld import geometry_weights
    >>> geometry_weights([90.0, 30.0]).round(6) + 0.0
    array([[ 1.      ,  0.      ],
           [-0.333333,  1.333333]])
    """
    theta = np.deg2rad(np.asarray(angles_deg, dtype=float))
    if theta.shape != (2,):
        raise DataError(
            f"an XLD pair needs exactly two incidence angles, got {angles_deg!r}; join the "
            "two runs of the pair (sloxide.io.read_runs) or select two angles"
        )
    # A NaN angle passed the determinant test below (NaN < 1e-6 is False) and turned
    # I_ab and I_c into NaN without a word.
    if not np.isfinite(theta).all():
        raise DataError(
            f"the incidence angles {list(np.rad2deg(theta))} hold NaN or ±inf; give the two "
            "angles of the pair, e.g. ds.assign_coords(incidence_angle=[90.0, 30.0])"
        )
    if not geometry_correction:
        normal = np.isclose(np.rad2deg(theta), 90.0, atol=1e-6)
        if normal.sum() != 1:
            raise DataError(
                f"without the geometry correction one angle must be 90° (I_ab) and the other "
                f"grazing (taken as I_c); got {list(np.rad2deg(theta))}. Use "
                "geometry_correction=True for a general pair"
            )
        return np.array([[1.0, 0.0], [0.0, 1.0]])[:, np.argsort(~normal)]
    geometry = np.stack([np.sin(theta) ** 2, np.cos(theta) ** 2], axis=-1)
    if abs(np.linalg.det(geometry)) < 1e-6:
        raise DataError(
            f"the incidence angles {list(np.rad2deg(theta))} do not separate I_ab from I_c "
            "(they are equal or mirror images); measure at two different angles, e.g. 90° and 30°"
        )
    return np.asarray(np.linalg.inv(geometry))


def _pair(
    spectra: xr.DataArray, angle_dim: str, angles: Any, geometry_correction: bool
) -> tuple[xr.DataArray, xr.DataArray, FloatArray]:
    if angle_dim not in spectra.dims:
        raise DataError(
            f"the spectra have dims {spectra.dims}; an XLD pair needs an {angle_dim!r} dim "
            "holding both incidence angles (join the two runs with sloxide.io.read_runs)"
        )
    if spectra.sizes[angle_dim] != 2:
        raise DataError(
            f"an XLD pair needs exactly two incidence angles along {angle_dim!r}, got "
            f"{spectra.sizes[angle_dim]}; select two, e.g. .sel({angle_dim}=[90, 30])"
        )
    if angles is None:
        if angle_dim not in spectra.coords:
            raise DataError(f"the {angle_dim!r} dim has no coordinate; pass angles=")
        coord = spectra[angle_dim].reset_coords(drop=True)
        angles = to_magnitude(coord, "deg", f"the {angle_dim!r} coordinate").values
    weights = geometry_weights(angles, geometry_correction)
    w = xr.DataArray(weights, dims=("channel", angle_dim))
    both = xr.dot(w, spectra, dim=angle_dim)
    return both.isel(channel=0), both.isel(channel=1), weights


@declare_units(spectra="any")
def xld(
    spectra: xr.DataArray,
    *,
    angle_dim: str = "incidence_angle",
    angles: Any = None,
    geometry_correction: bool = True,
) -> xr.Dataset:
    """I_ab, I_c, the isotropic spectrum and XLD = I_ab − I_c from an XLD pair.

    Parameters
    ----------
    spectra : xarray.DataArray
        Normalized spectra on dims (..., ``angle_dim``, energy), any units,
        with both incidence angles along ``angle_dim``.
    angle_dim : str, default "incidence_angle"
    angles : sequence of 2 floats, optional
        Incidence angles in deg; default the ``angle_dim`` coordinate (with
        angle units).
    geometry_correction : bool, default True
        Solve I(θ) = I_ab·sin²θ + I_c·cos²θ for I_ab and I_c. False takes
        the grazing spectrum as I_c (the paper does not say which it used).

    Returns
    -------
    xarray.Dataset
        ``I_ab``, ``I_c``, ``iso`` = (2·I_ab + I_c)/3 and ``xld`` = I_ab − I_c,
        in the units of the spectra. XLD < 0 means x²−y² is preferred.

    Raises
    ------
    DataError
        Without both angles, with angles that are not finite or cannot
        separate I_ab and I_c, without a 90° spectrum when
        ``geometry_correction=False``, or for spectra holding ±inf.

    Examples
    --------
    PHYSICS.md §8 check 10: I_ab = 1, I_c = 1.2 measured at 90° and 30°.

    >>> import xarray as xr
    >>> from sloxide.analysis.xld import xld
    >>> pair = xr.DataArray([[1.0], [1.15]], dims=("incidence_angle", "energy"),
    ...                     coords={"incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"})},
    ...                     attrs={"units": "1"})
    >>> out = xld(pair)
    >>> out.I_c.values.round(6), out.iso.values.round(4)
    (array([1.2]), array([1.0667]))
    """
    # XLD is pointwise: ±inf would come out as ±inf (DESIGN.md: refuse it).
    i_ab, i_c, _ = _pair(
        refuse_inf(spectra, "the spectra"), angle_dim, angles, geometry_correction
    )
    units = units_of(spectra) or "1"
    note = "geometry-corrected" if geometry_correction else "grazing spectrum taken as I_c"
    return xr.Dataset(
        {
            "I_ab": i_ab.pipe(with_attrs, units=units, long_name="in-plane absorption I_ab"),
            "I_c": i_c.pipe(
                with_attrs, units=units, long_name="out-of-plane absorption I_c", description=note
            ),
            "iso": ((2 * i_ab + i_c) / 3).pipe(
                with_attrs, units=units, long_name="isotropic absorption (2·I_ab + I_c)/3"
            ),
            "xld": (i_ab - i_c).pipe(
                with_attrs, units=units, long_name="X-ray linear dichroism I_ab − I_c"
            ),
        },
        attrs={"geometry_correction": int(geometry_correction)},
    )


def _energy_of(spectra: xr.DataArray, energy: xr.DataArray | None, dim: str) -> FloatArray:
    """The energies of ``spectra`` along ``dim`` in eV: ``energy``, else the ``dim`` coordinate."""
    if energy is None:
        if dim not in spectra.coords:
            raise DataError(f"no energies: pass energy= or give the {dim!r} dim a coordinate")
        energy = to_magnitude(
            spectra[dim].reset_coords(drop=True), "eV", f"the {dim!r} coordinate"
        )
    return np.asarray(energy.values, dtype=float)


def _integration_weights(energy: FloatArray, low: float, high: float) -> FloatArray:
    """Trapezoid weights of the readings within [low, high]."""
    inside = (energy >= low) & (energy <= high)
    if inside.sum() < 3:
        raise DataError(
            f"fewer than 3 readings between {low:g} and {high:g} eV; measure across the window "
            "or pass another window="
        )
    # The readings must reach both ends of the window (within one grid step): a scan
    # that stops inside it gave integrals, and P, of part of the window.
    step = float(np.median(np.diff(energy)))
    if energy.min() > low + step or energy.max() < high - step:
        raise DataError(
            f"the spectra cover {energy.min():g}-{energy.max():g} eV, not the whole "
            f"integration window {low:g}-{high:g} eV; measure across it or pass another window="
        )
    e = np.where(inside, energy, np.nan)
    weights = np.zeros_like(energy)
    idx = np.flatnonzero(inside)
    widths = np.diff(e[idx])
    weights[idx[:-1]] += 0.5 * widths
    weights[idx[1:]] += 0.5 * widths
    return weights


def _polarization_kernel(
    pair: FloatArray,
    energy: FloatArray,
    weights: FloatArray,
    geometry: FloatArray,
    step: FloatArray,
    pre_edge: NDArray[np.bool_],
    n_eg: float,
) -> tuple[FloatArray, ...]:
    if np.isinf(pair).any():  # anywhere: corrupt, not missing (DESIGN.md)
        raise DataError("the spectra contain ±inf; mark missing readings as NaN instead")
    if not np.isfinite(pair[..., weights > 0]).all():  # NaN outside the window is fine
        raise DataError(
            "the spectra hold NaN or ±inf inside the integration window; interpolate over "
            "missing readings first, or pass another window="
        )
    # White-line integrals of both measured spectra after the common isotropic step.
    # Only the window's readings count: a NaN outside it (weight 0) made NaN·0 = NaN of
    # the whole integral, and P, without a word.
    inside = weights > 0
    integrals = (np.where(inside, pair - step, 0.0) * weights).sum(axis=-1)  # (..., 2)
    # Noise of each spectrum from the scatter about a line through its pre-edge.
    if pre_edge.sum() >= 4:
        e = energy[pre_edge]
        design = np.stack([np.ones_like(e), e - e.mean()], axis=-1)
        line = masked_lstsq(design, pair[..., pre_edge], np.ones(e.size, dtype=bool))
        noise_var = line.rms**2
    else:
        noise_var = np.full(pair.shape[:-1], np.nan)
    var_integral = noise_var * (weights**2).sum()  # (..., 2)
    area = np.einsum("ij,...j->...i", geometry, integrals)  # (..., [ab, c])
    cov = np.einsum("ij,kj,...j->...ik", geometry, geometry, var_integral)
    a_ab, a_c = area[..., 0], area[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = a_c / a_ab
        var_r = r**2 * (
            cov[..., 1, 1] / a_c**2 + cov[..., 0, 0] / a_ab**2 - 2 * cov[..., 0, 1] / (a_c * a_ab)
        )
        x = 3 * r / (4 - r)
        var_x = (12 / (4 - r) ** 2) ** 2 * var_r
        k = 4 / n_eg - 1
        p = k * (x - 1) / (x + 1)
        p_err = np.abs(2 * k / (x + 1) ** 2) * np.sqrt(var_x)
    return x, np.sqrt(var_x), p, p_err, r, a_ab, a_c


@declare_units(
    spectra="any", energy="eV", window="eV", step_center="eV", step_width="eV", angles="deg"
)
def orbital_polarization(
    spectra: xr.DataArray,
    energy: xr.DataArray | None = None,
    *,
    dim: str = "energy",
    angle_dim: str = "incidence_angle",
    angles: Any = None,
    n_eg: float = 1.0,
    window: tuple[float, float] = NI_L2_WINDOW,
    step_center: float = NI_L2_STEP_CENTER,
    step_width: float = NI_L2_STEP_WIDTH,
    step_height: float | None = None,
    geometry_correction: bool = True,
) -> xr.Dataset:
    """Hole ratio X = h_z/h_x and orbital polarization P from a normalized Ni L2 XLD pair.

    The white-line integrals of I_ab and I_c over ``window`` are taken after
    subtracting one common isotropic erf step (PHYSICS.md §4); P depends
    strongly on that step, so its parameters are outputs' attrs.

    Parameters
    ----------
    spectra : xarray.DataArray
        Normalized spectra (edge step 1) on dims (..., ``angle_dim``, ``dim``).
    energy : xarray.DataArray, optional
        Energies along ``dim``; default the ``dim`` coordinate.
    dim, angle_dim : str, default "energy", "incidence_angle"
    angles : sequence of 2 floats, optional
        Incidence angles in deg; default the ``angle_dim`` coordinate.
    n_eg : float, default 1
        e_g electron count (n_eg ≈ 1 + x(Ni²⁺) is uncertain; the paper does
        not state it).
    window : (float, float), default (866, 878)
        Integration window in eV.
    step_center, step_width : float, default 870.6, 0.8
        Erf step centre and width in eV.
    step_height : float, optional
        Step height in the units of the spectra. Default: the normalized edge
        step, 1 in whatever dimensionless unit the spectra carry (100 for
        spectra in percent).
    geometry_correction : bool, default True
        As in :func:`xld`.

    Returns
    -------
    xarray.Dataset
        ``hole_ratio`` (X) and ``P`` (dimensionless) with ``_stderr`` from the
        noise of each spectrum (estimated on its pre-edge below the window;
        NaN without one), the integral ratio ``r`` = ∫I_c/∫I_ab, and the
        white-line areas ``area_ab``, ``area_c`` (units of spectra × eV).
        The errors cover the integration noise only, not the normalization.

    Raises
    ------
    DataError
        As :func:`xld`, with fewer than 3 readings in the window, readings
        that do not span the window, NaN inside it, or ±inf anywhere.

    Examples
    --------
    A pair with r = I_c/I_ab = 1.0981 gives the paper's 19 % (n_eg = 1):

    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.xld import orbital_polarization, edge_step_function
    >>> e = np.arange(862.0, 885.0, 0.05)
    >>> line = np.exp(-0.5 * ((e - 871.0) / 0.6) ** 2)
    >>> i_ab, i_c = line, 1.0981 * line
    >>> i_30 = 0.25 * i_ab + 0.75 * i_c
    >>> pair = xr.DataArray(np.stack([i_ab, i_30]) + edge_step_function(e, 870.6, 0.8),
    ...     dims=("incidence_angle", "energy"), attrs={"units": "1"},
    ...     coords={"incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"}),
    ...             "energy": ("energy", e, {"units": "eV"})})
    >>> round(float(orbital_polarization(pair).P), 3)
    0.19
    """
    if not n_eg > 0:
        raise SloxideError(f"n_eg must be positive, got {n_eg!r}; pass e.g. n_eg=1")
    if dim not in spectra.dims:
        raise DataError(f"the spectra have dims {spectra.dims}, not {dim!r}; pass dim=")
    require_single_chunk(spectra, dim, "spectra")
    if angle_dim in spectra.dims:
        require_single_chunk(spectra, angle_dim, "spectra")
    e = _energy_of(spectra, energy, dim)
    if e.ndim != 1 or not np.all(np.diff(e) > 0):
        raise DataError(
            "the energy must be one strictly increasing 1-D grid shared by both spectra; "
            "sort it (ds.sortby('energy')) and interpolate both onto one grid"
        )
    if step_height is None:
        # Normalized spectra have an edge step of 1, in whatever dimensionless unit they
        # carry: in "percent" the step subtracted must be 100, not 1 (P came out silently
        # wrong). Units that are not dimensionless are no normalized spectra.
        check_units({str(spectra.name or "spectra"): (spectra, "1")})
        step_height = conversion_factors("1", units_of(spectra) or "1")[0]
    low, high = sorted(window)
    weights = _integration_weights(e, low, high)
    step = edge_step_function(e, step_center, step_width, step_height)
    _, _, geometry = _pair(spectra.isel({dim: [0]}), angle_dim, angles, geometry_correction)
    results = xr.apply_ufunc(
        _polarization_kernel,
        spectra.astype(float),
        input_core_dims=[[angle_dim, dim]],
        output_core_dims=[[]] * 7,
        kwargs={
            "energy": e,
            "weights": weights,
            "geometry": geometry,
            "step": step,
            "pre_edge": e < low - 1.0,
            "n_eg": float(n_eg),
        },
        dask="parallelized",
        output_dtypes=[float] * 7,
    )
    x, x_err, p, p_err, r, a_ab, a_c = results
    area_units = f"({units_of(spectra) or '1'}) * eV"
    attrs = {
        "n_eg": float(n_eg),
        "window_eV": [low, high],
        "step_center_eV": float(step_center),
        "step_width_eV": float(step_width),
        "step_height": float(step_height),
        "geometry_correction": int(geometry_correction),
    }
    return xr.Dataset(
        {
            "hole_ratio": x.pipe(with_attrs, units="1", long_name="hole ratio X = h_z/h_x"),
            "hole_ratio_stderr": x_err.pipe(
                with_attrs, units="1", long_name="standard error of X"
            ),
            "P": p.pipe(
                with_attrs,
                units="1",
                long_name="orbital polarization P = (n_x − n_z)/(n_x + n_z)",
                description="P > 0: d(x²−y²) preferred",
            ),
            "P_stderr": p_err.pipe(with_attrs, units="1", long_name="standard error of P"),
            "r": r.pipe(with_attrs, units="1", long_name="integral ratio ∫I_c/∫I_ab"),
            "area_ab": a_ab.pipe(
                with_attrs, units=area_units, long_name="white-line area of I_ab"
            ),
            "area_c": a_c.pipe(with_attrs, units=area_units, long_name="white-line area of I_c"),
        },
        attrs=attrs,
    )


def hole_ratio_from_polarization(polarization: Any, n_eg: float = 1.0) -> tuple[Any, Any]:
    """Inverse of P(X): q = P/(4/n_eg − 1), X = (1 + q)/(1 − q), r = 4X/(3 + X).

    Returns ``(X, r)``; used to build spectra with a given P (PHYSICS.md §4, §7).

    Examples
    --------
    >>> from sloxide.analysis.xld import hole_ratio_from_polarization
    >>> x, r = hole_ratio_from_polarization(0.19)
    >>> round(float(x), 3), round(float(r), 4)
    (1.135, 1.0981)
    """
    q = np.asarray(polarization, dtype=float) / (4.0 / n_eg - 1.0)
    x = (1 + q) / (1 - q)
    return x, 4 * x / (3 + x)


@declare_units(spectra="any", energy="eV")
def band_integrals(
    spectra: xr.DataArray,
    energy: xr.DataArray | None = None,
    *,
    dim: str = "energy",
    bands: Mapping[str, tuple[float, float]] = O_K_BANDS,
) -> xr.Dataset:
    """Integrals of spectra (e.g. XLD at the O K edge) over named energy bands.

    Parameters
    ----------
    spectra : xarray.DataArray
        Spectra along ``dim``, any units.
    energy : xarray.DataArray, optional
        Energies along ``dim``; default the coordinate.
    dim : str, default "energy"
    bands : mapping of name to (low, high) in eV, default the paper's O K bands

    Returns
    -------
    xarray.Dataset
        ``integral`` on a new ``band`` dim (units of spectra × eV) and
        ``average`` (integral / band width, units of spectra).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.xld import band_integrals
    >>> e = np.arange(525.0, 546.0, 0.1)
    >>> s = xr.DataArray(np.ones_like(e), dims="energy", attrs={"units": "1"},
    ...                  coords={"energy": ("energy", e, {"units": "eV"})})
    >>> band_integrals(s).average.values.round(3)
    array([1., 1., 1., 1.])
    """
    if dim not in spectra.dims:
        raise DataError(f"the spectra have dims {spectra.dims}, not {dim!r}; pass dim=")
    e = _energy_of(spectra, energy, dim)
    names = list(bands)
    w = np.stack([_integration_weights(e, *sorted(bands[n])) for n in names])
    weights = xr.DataArray(w, dims=("band", dim), coords={"band": names})
    integral = xr.dot(
        spectra.reset_coords(drop=True).drop_vars(dim, errors="ignore"),
        weights.drop_vars(dim, errors="ignore"),
        dim=dim,
    )
    width = xr.DataArray(w.sum(axis=-1), dims="band", coords={"band": names})
    units = units_of(spectra) or "1"
    return xr.Dataset(
        {
            "integral": integral.pipe(
                with_attrs, units=f"({units}) * eV", long_name="band integral"
            ),
            "average": (integral / width).pipe(with_attrs, units=units, long_name="band average"),
        }
    )
