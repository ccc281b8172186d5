"""Linear least squares over stacks of curves, each with its own mask.

Every curve of a stack gets its own fit in one batched computation: the
masked normal equations ``(XᵀWX) β = XᵀWy`` are formed with ``einsum`` and
solved with one batched pseudo-inverse. No Python loop runs over curves.
Uncertainties follow the usual estimate ``σ̂² = RSS/(n − p)`` and
``Cov = σ̂² (XᵀWX)⁻¹`` (PHYSICS.md section 3, "Errors").

These are numpy kernels that work on the last axes; the xarray-level
functions call them through ``xarray.apply_ufunc``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["LinearFit", "masked_lstsq", "local_polyfit"]

FloatArray = NDArray[np.float64]


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
    normal = np.einsum("...ni,...n,...nj->...ij", design, weight, design)
    rhs = np.einsum("...ni,...n->...i", design, weight * y0)
    inverse = np.linalg.pinv(normal)
    coef = np.einsum("...ij,...j->...i", inverse, rhs)
    resid = np.where(use, y0 - np.einsum("...ni,...i->...n", design, coef), 0.0)
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
