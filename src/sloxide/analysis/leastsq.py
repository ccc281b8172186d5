"""Least squares over stacks of curves, each with its own mask: every fitter of the analysis.

Every curve of a stack gets its own fit in one batched computation; no Python
loop runs over curves. Linear fits (:func:`masked_lstsq`, :func:`local_polyfit`,
:func:`window_polyfit`) solve the masked normal equations ``(XᵀWX) β = XᵀWy``,
formed for the whole stack at once. Nonlinear fits
(:func:`levenberg_marquardt`) iterate damped Gauss–Newton steps on the whole
stack, each curve with its own damping and stopping. Uncertainties follow the
usual estimate ``σ̂² = RSS/(n − p)`` and ``Cov = σ̂² (XᵀWX)⁻¹`` (PHYSICS.md
section 3, "Errors"), with the Jacobian as X for nonlinear fits.

These are numpy kernels that work on the last axes; the xarray-level
functions call them through ``xarray.apply_ufunc``.

Fits square the data (residual sums, normal equations, variances), so data
beyond :data:`FIT_RANGE` would overflow or underflow float64 silently:
:func:`require_fittable` refuses it with a hint to check the units.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError, FitError

__all__ = [
    "FIT_RANGE",
    "LinearFit",
    "NonlinearFit",
    "Model",
    "WindowPolynomials",
    "masked_lstsq",
    "local_polyfit",
    "window_polyfit",
    "levenberg_marquardt",
    "require_fittable",
]

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


class WindowPolynomials(NamedTuple):
    """Polynomials Σ coef[s, k]·u**k in u = (x − centre[s])/half[s], one per curve s.

    :func:`window_polyfit` returns them, each in the scaled variable of its
    own fit window.

    Attributes
    ----------
    coef : ndarray, shape (S, degree + 1)
        Coefficients, lowest power first.
    centre, half : ndarray, shape (S,)
        Centre and half-width of each curve's window, in the units of x.
    """

    coef: FloatArray
    centre: FloatArray
    half: FloatArray

    def on_grid(self, x: FloatArray) -> FloatArray:
        """Every polynomial on the grid ``x`` (N,): (S, N), or (S, 1) if all are constant."""
        degree = self.coef.shape[-1] - 1
        if degree == 0:
            return self.coef[:, :1].copy()
        u = np.multiply.outer(1.0 / self.half, x - x[0])
        u += ((x[0] - self.centre) / self.half)[:, None]
        out = u * self.coef[:, degree, None]
        out += self.coef[:, degree - 1, None]
        for k in range(degree - 2, -1, -1):
            out *= u
            out += self.coef[:, k, None]
        return out

    def at(self, x: FloatArray) -> FloatArray:
        """Each polynomial at its own abscissa ``x`` (S,): (S,)."""
        u = (x - self.centre) / self.half
        out = np.zeros_like(u)
        for k in range(self.coef.shape[-1] - 1, -1, -1):
            out = out * u + self.coef[:, k]
        return out


def window_polyfit(
    x: FloatArray,
    y: FloatArray,
    start: NDArray[np.int64],
    stop: NDArray[np.int64],
    degree: NDArray[np.int64],
    what: str,
    baseline: WindowPolynomials | None = None,
) -> WindowPolynomials:
    """Least-squares polynomial of per-curve ``degree`` to ``(y − baseline)[s, start[s]:stop[s]]``.

    Each curve is fitted in u = (x − centre)/half-width of its own index
    window, the mapping of ``numpy.polynomial.Polynomial.fit`` (which larch's
    pre-edge normalization uses), from the normal equations in that variable;
    powers above a curve's degree are pinned to 0. Only the columns of the
    union of the windows are read.

    Parameters
    ----------
    x : ndarray, shape (N,)
        Increasing abscissa shared by all curves.
    y : ndarray, shape (S, N)
        Data, finite inside the windows.
    start, stop : ndarray of int, shape (S,)
        Index window ``[start, stop)`` of each curve (clipped to the grid).
    degree : ndarray of int, shape (S,)
        Polynomial degree of each curve.
    what : str
        Name of the fit, for the error message.
    baseline : WindowPolynomials, optional
        Polynomials subtracted from ``y`` before the fit.

    Returns
    -------
    WindowPolynomials

    Raises
    ------
    FitError
        If a window holds fewer than ``degree + 1`` points.

    Examples
    --------
    A line on the first half of one curve and a parabola on all of another:

    >>> import numpy as np
    >>> from sloxide.analysis.leastsq import window_polyfit
    >>> x = np.linspace(0.0, 4.0, 9)
    >>> y = np.stack([1.0 + 2.0 * x, x**2])
    >>> fit = window_polyfit(x, y, np.array([0, 0]), np.array([5, 9]), np.array([1, 2]), "demo")
    >>> fit.at(np.array([3.0, 3.0])).round(12)
    array([7., 9.])
    """
    n = x.size
    lo = np.clip(start, 0, n)
    hi = np.clip(stop, 0, n)
    used = hi - lo
    if (used < degree + 1).any():
        bad = int(np.argmax(used < degree + 1))
        raise FitError(
            f"the {what} fit window holds {int(max(used[bad], 0))} points, too few for a "
            f"polynomial of degree {int(degree[bad])}; widen the window"
        )
    a, b = int(lo.min()), int(hi.max())
    grid = x[a:b]
    values = y[:, a:b]
    if baseline is not None:
        values = values - baseline.on_grid(grid)
    first = x[lo]
    last = x[hi - 1]
    centre = 0.5 * (first + last)
    half = np.where(last > first, 0.5 * (last - first), 1.0)
    u = (grid[None, :] - centre[:, None]) / half[:, None]
    index = np.arange(a, b)
    weight = ((index >= lo[:, None]) & (index < hi[:, None])).astype(float)
    p = int(degree.max()) + 1
    moments = np.empty((y.shape[0], 2 * p - 1))
    rhs = np.empty((y.shape[0], p))
    power = weight
    wy = weight * values
    for k in range(2 * p - 1):
        moments[:, k] = power.sum(axis=-1)
        if k < p:
            rhs[:, k] = (power * wy).sum(axis=-1) if k else wy.sum(axis=-1)
        power = power * u
    j = np.arange(p)
    normal = moments[:, j[:, None] + j[None, :]]
    active = j[None, :] <= degree[:, None]
    normal = np.where(active[:, :, None] & active[:, None, :], normal, np.eye(p))
    coef = np.linalg.solve(normal, np.where(active, rhs, 0.0)[..., None])[..., 0]
    return WindowPolynomials(coef.astype(np.float64), centre, half)


class NonlinearFit(NamedTuple):
    """Result of a batched nonlinear least-squares fit.

    Attributes
    ----------
    params : ndarray, shape (S, p)
        Best-fit parameters.
    cov : ndarray, shape (S, p, p)
        Covariance ``σ̂²·(JᵀWJ)⁺`` from the Jacobian J at the optimum, with
        ``σ̂² = RSS/(n − p)``; bounds are not treated as active.
    rms : ndarray, shape (S,)
        Residual standard deviation ``sqrt(RSS/(n − p))``.
    converged : ndarray of bool, shape (S,)
        True where the fit stopped moving before ``max_iter``.
    """

    params: FloatArray
    cov: FloatArray
    rms: FloatArray
    converged: NDArray[np.bool_]

    @property
    def stderr(self) -> FloatArray:
        """Standard errors, the square roots of the covariance diagonal."""
        return np.sqrt(np.diagonal(self.cov, axis1=-2, axis2=-1))


#: A model of :func:`levenberg_marquardt`: ``model(params (S, p), x (N,), jacobian)`` returns
#: the curves (S, N) and, when ``jacobian`` is True, their derivatives (S, N, p), else None.
Model = Callable[[FloatArray, FloatArray, bool], tuple[FloatArray, FloatArray | None]]


def levenberg_marquardt(
    model: Model,
    x: FloatArray,
    y: FloatArray,
    weight: FloatArray,
    start: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    scale: FloatArray,
    max_iter: int,
) -> NonlinearFit:
    """Box-constrained Levenberg–Marquardt fit of ``model`` to every curve of a stack at once.

    Minimizes Σ weight·(y − model)² for each curve. Each curve has its own
    damping λ and stops on its own: one that has converged is frozen, so a
    stack gives exactly the fits of its curves one by one, and no Python
    loop runs over curves (only over iterations). Bounds hold by projection:
    a step is clipped onto the box, and a parameter on a bound whose gradient
    points outward is held fixed for that step. A step that does not lower
    the cost (within 1e-12 of it, so that Gauss–Newton settles on the
    stationary point) is refused and λ raised ×4; an accepted one lowers λ
    ÷3. A curve stops once a step moves no parameter by more than
    1e-12·(|p| + ``scale``), or λ passes 1e14 (no step lowers the cost).

    Parameters
    ----------
    model : callable
        ``model(params, x, jacobian)`` → (curves (S, N), Jacobian (S, N, p)
        or None), see :data:`Model`.
    x : ndarray, shape (N,)
        Abscissa shared by all curves.
    y : ndarray, shape (S, N)
        Data; finite wherever ``weight`` > 0 (put 0 elsewhere).
    weight : ndarray, shape (S, N)
        Weight of each point: 1 to use it, 0 to leave it out.
    start : ndarray, shape (S, p)
        Starting parameters, inside the bounds.
    lower, upper : ndarray, shape (p,) or (S, p)
        Box bounds (±inf for none).
    scale : ndarray, shape (S, p)
        Typical size of each parameter: the floor of the "no longer moves"
        test, so that a parameter whose optimum is 0 does not wander at
        rounding level and keep the fit from converging.
    max_iter : int
        Most iterations; ``converged`` is False for curves still moving then.

    Returns
    -------
    NonlinearFit
        ``params``, ``cov``, ``rms`` and ``converged``.

    Examples
    --------
    Two exponential decays a·exp(−x/τ), fitted together with τ ≥ 0.5:

    >>> import numpy as np
    >>> from sloxide.analysis.leastsq import levenberg_marquardt
    >>> def decay(p, x, jacobian):
    ...     e = np.exp(-x[None, :] / p[:, 1, None])
    ...     value = p[:, 0, None] * e
    ...     if not jacobian:
    ...         return value, None
    ...     d_tau = value * x[None, :] / p[:, 1, None] ** 2
    ...     return value, np.stack([e, d_tau], axis=-1)
    >>> x = np.linspace(0.0, 5.0, 26)
    >>> truth = np.array([[2.0, 1.5], [0.5, 3.0]])
    >>> y, _ = decay(truth, x, False)
    >>> fit = levenberg_marquardt(
    ...     decay, x, y, np.ones_like(y), np.ones((2, 2)), np.array([-np.inf, 0.5]),
    ...     np.array([np.inf, np.inf]), scale=np.ones((2, 2)), max_iter=100)
    >>> fit.params.round(9), fit.converged
    (array([[2. , 1.5],
           [0.5, 3. ]]), array([ True,  True]))
    """
    p = start.copy()
    value, _ = model(p, x, False)
    cost = (weight * (y - value) ** 2).sum(axis=-1)
    damping = np.full(len(p), 1e-3)
    running = np.ones(len(p), dtype=bool)
    eye = np.eye(p.shape[-1])
    for _ in range(max_iter):
        idx = np.flatnonzero(running)
        if idx.size == 0:
            break
        pi, wi, yi = p[idx], weight[idx], y[idx]
        value, jac = model(pi, x, True)
        assert jac is not None
        wj = jac * wi[..., None]
        normal = np.einsum("snk,snl->skl", wj, jac)
        gradient = np.einsum("snk,sn->sk", wj, yi - value)
        fixed = ((pi <= lower) & (gradient < 0)) | ((pi >= upper) & (gradient > 0))
        free = ~fixed
        diag = np.maximum(np.diagonal(normal, axis1=-2, axis2=-1), 1e-300)
        system = normal + damping[idx, None, None] * diag[:, :, None] * eye
        system = np.where(free[:, :, None] & free[:, None, :], system, eye)
        step = np.linalg.solve(system, np.where(free, gradient, 0.0)[..., None])[..., 0]
        trial = np.clip(pi + step, lower, upper)
        trial_value, _ = model(trial, x, False)
        trial_cost = (wi * (yi - trial_value) ** 2).sum(axis=-1)
        old = cost[idx]
        # Within rounding of the cost, let Gauss–Newton settle on the stationary point.
        better = trial_cost <= old * (1.0 + 1e-12)
        p[idx] = np.where(better[:, None], trial, pi)
        cost[idx] = np.where(better, trial_cost, old)
        damping[idx] = np.where(better, np.maximum(damping[idx] / 3.0, 1e-12), damping[idx] * 4.0)
        # Stop once a step no longer moves any parameter (Gauss–Newton converges
        # quadratically, so this is the optimum to rounding), or no step can lower the cost.
        still = np.abs(trial - pi) <= 1e-12 * (np.abs(pi) + scale[idx] + 1e-12)
        running[idx] = ~(still.all(axis=-1) | (damping[idx] > 1e14))
    value, jac = model(p, x, True)
    assert jac is not None
    rss = (weight * (y - value) ** 2).sum(axis=-1)
    dof = (weight > 0).sum(axis=-1) - p.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.where(dof > 0, rss / np.maximum(dof, 1), np.nan)
    normal = np.einsum("snk,sn,snl->skl", jac, weight, jac)
    cov = variance[:, None, None] * np.linalg.pinv(normal)
    return NonlinearFit(p, cov, np.sqrt(variance), ~running)
