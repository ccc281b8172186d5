"""Linear least squares over stacks of curves, each with its own mask.

Every curve of a stack gets its own fit in one batched computation: the
masked normal equations ``(XᵀWX) β = XᵀWy`` are formed with ``einsum`` and
solved with one batched pseudo-inverse. No Python loop runs over curves.
Uncertainties follow the usual estimate ``σ̂² = RSS/(n − p)`` and
``Cov = σ̂² (XᵀWX)⁻¹`` (PHYSICS.md section 3, "Errors").

These are numpy kernels that work on the last axes; the xarray-level
functions call them through ``xarray.apply_ufunc``.

Fits square the data (residual sums, normal equations, variances), so data
beyond :data:`FIT_RANGE` would overflow or underflow float64 silently:
:func:`require_fittable` refuses it with a hint to check the units.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError

__all__ = ["FIT_RANGE", "LinearFit", "masked_lstsq", "local_polyfit", "require_fittable"]

FloatArray = NDArray[np.float64]

#: Magnitudes of a curve (data or abscissa) the fits work with: the fourth powers that
#: quadratic fits form, and their covariances, stay inside float64 (1e±308). No reading
#: in any sensible unit comes near these bounds.
FIT_RANGE = (1e-50, 1e50)


def require_fittable(values: NDArray[np.floating], name: str, units: str = "") -> None:
    """Raise :class:`DataError` if a curve's largest finite magnitude is outside :data:`FIT_RANGE`.

    Such numbers are no physical reading in any sensible unit: they come from
    wrong units or a scaling slip, and the fits would square them into inf or 0. A curve
    of zeros passes. Works along the last axis, without temporaries of the data's size.

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.analysis.leastsq import require_fittable
    >>> require_fittable(np.array([1e-3, np.nan, 2.0]), "rho_xy")
    >>> try:
    ...     require_fittable(np.array([3e300, 1.0]), "rho_xy", "µΩ·cm")
    ... except ValueError as err:
    ...     print(err)
    rho_xy reaches magnitudes of 3e+300 µΩ·cm, outside the 1e-50 to 1e+50 that the fits can square in float64; check its units (a wrong or missing prefix?) or rescale it
    """
    values = np.asarray(values)
    if values.size == 0 or values.dtype.kind not in "fc":
        return  # integers are bounded well inside the range
    with np.errstate(invalid="ignore"):
        top = np.fmax(np.fmax.reduce(values, axis=-1), -np.fmin.reduce(values, axis=-1))
    top = np.asarray(top, dtype=np.float64)  # float32 data: 1e50 overflows float32
    low, high = FIT_RANGE
    bad = (top > high) | ((top > 0) & (top < low))
    if bad.any():
        worst = float(top[bad].flat[0]) if np.ndim(top) else float(top)
        unit = f" {units}" if units else ""
        raise DataError(
            f"{name} reaches magnitudes of {worst:.3g}{unit}, outside the {low:g} to {high:g} "
            "that the fits can square in float64; check its units (a wrong or missing "
            "prefix?) or rescale it"
        )


class LinearFit(NamedTuple):
    """Result of a batched linear least-squares fit.

    Attributes
    ----------
    coef : ndarray, shape (..., p)
        Best-fit coefficients; NaN where the fit is under-determined.
    cov : ndarray, shape (..., p, p)
        Covariance of ``coef`` from the residual scatter.
    n : ndarray, shape (...)
        Number of points used by each fit.
    rms : ndarray, shape (...)
        Residual standard deviation ``sqrt(RSS / (n - p))``.
    """

    coef: FloatArray
    cov: FloatArray
    n: NDArray[np.int64]
    rms: FloatArray

    @property
    def stderr(self) -> FloatArray:
        """Standard errors, the square roots of the covariance diagonal."""
        return np.sqrt(np.diagonal(self.cov, axis1=-2, axis2=-1))


def masked_lstsq(design: FloatArray, y: FloatArray, mask: NDArray[np.bool_]) -> LinearFit:
    """Fit ``y ≈ design @ coef`` separately for every curve, using only ``mask``-ed points.

    Parameters
    ----------
    design : ndarray, shape (..., N, p)
        Design matrix; broadcasts against ``y``.
    y : ndarray, shape (..., N)
        Data. Points that are NaN are ignored even where ``mask`` is True.
    mask : ndarray of bool, shape (..., N)
        Points each fit may use.

    Returns
    -------
    LinearFit
        ``coef``, ``cov``, ``n`` and ``rms``; NaN where a curve has fewer
        than ``p + 1`` usable points (no residual left to estimate errors).

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.analysis.leastsq import masked_lstsq
    >>> x = np.linspace(0.0, 1.0, 11)
    >>> y = np.stack([1.0 + 2.0 * x, 3.0 - x])
    >>> y[1, 0] = np.nan
    >>> design = np.stack([np.ones_like(x), x], axis=-1)
    >>> masked_lstsq(design, y, np.ones_like(y, dtype=bool)).coef.round(12) + 0.0
    array([[ 1.,  2.],
           [ 3., -1.]])
    """
    y = np.asarray(y, dtype=float)
    use = np.asarray(mask, dtype=bool) & np.isfinite(y)
    weight = use.astype(float)
    y0 = np.where(use, y, 0.0)
    # Unused rows are zeroed, so NaN there (e.g. from a NaN window centre) cannot leak in.
    design = np.where(use[..., None], design, 0.0)
    p = design.shape[-1]
    # Equilibrate the columns, so that the rank test and the pseudo-inverse judge the
    # design's shape rather than its units: µ0H ~ 1e40 T next to a constant column made
    # cond(XᵀX) ~ 1e80, and a full-rank fit came out NaN.
    norm = np.sqrt(np.einsum("...ni,...n,...ni->...i", design, weight, design))
    norm = np.where(norm > 0, norm, 1.0)
    design = design / norm[..., None, :]
    normal = np.einsum("...ni,...n,...nj->...ij", design, weight, design)
    rhs = np.einsum("...ni,...n->...i", design, weight * y0)
    inverse = np.linalg.pinv(normal)
    coef = np.einsum("...ij,...j->...i", inverse, rhs)
    resid = np.where(use, y0 - np.einsum("...ni,...i->...n", design, coef), 0.0)
    # Back to the caller's columns: β = β'/norm, Cov = Cov'/(norm·normᵀ).
    coef = coef / norm
    inverse = inverse / (norm[..., :, None] * norm[..., None, :])
    n = use.sum(axis=-1)
    dof = n - p
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.where(dof > 0, (resid**2).sum(axis=-1) / np.maximum(dof, 1), np.nan)
    cov = variance[..., None, None] * inverse
    # A rank-deficient design (e.g. all points on one side of a sign column)
    # has a pseudo-inverse but no unique fit.
    rank_ok = np.linalg.matrix_rank(normal) == p
    bad = (dof <= 0) | ~rank_ok
    coef = np.where(bad[..., None], np.nan, coef)
    cov = np.where(bad[..., None, None], np.nan, cov)
    return LinearFit(coef, cov, n, np.sqrt(variance))


def local_polyfit(
    x: FloatArray,
    y: FloatArray,
    center: FloatArray,
    halfwidth: float,
    degree: int,
) -> LinearFit:
    """Fit a polynomial in ``x - center`` to the points within ``halfwidth`` of ``center``.

    Each curve has its own centre, so this refines zero crossings, extrema
    and tangents over a whole stack at once.

    Parameters
    ----------
    x : ndarray, shape (N,) or (..., N)
        Abscissa, shared or per curve.
    y : ndarray, shape (..., N)
        Data.
    center : ndarray, shape (...)
        Centre of each curve's window.
    halfwidth : float
        Half-width of the window, in the units of ``x``.
    degree : int
        Polynomial degree. ``coef[..., k]`` multiplies ``(x - center)**k``.

    Returns
    -------
    LinearFit

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.analysis.leastsq import local_polyfit
    >>> x = np.linspace(-1.0, 1.0, 201)
    >>> y = np.stack([(x - 0.3) ** 2, 2.0 * x])
    >>> fit = local_polyfit(x, y, np.array([0.3, 0.0]), 0.1, 2)
    >>> fit.coef.round(9) + 0.0
    array([[0., 0., 1.],
           [0., 2., 0.]])
    """
    center = np.asarray(center, dtype=float)
    dx = np.asarray(x, dtype=float) - center[..., None]
    design = dx[..., None] ** np.arange(degree + 1)
    mask = np.abs(dx) <= halfwidth * (1 + 1e-9)
    return masked_lstsq(design, y, mask)
