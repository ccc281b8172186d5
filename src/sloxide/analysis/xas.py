"""X-ray absorption spectroscopy (XAS): the absorption μ = TEY/I0 and its edge-step normalization.

Both follow PHYSICS.md section 4; the Ni valence fit to the normalized
spectra is :mod:`sloxide.analysis.valence`.

Normalization
-------------
:func:`normalize_xas` is ``larch.xafs.pre_edge.preedge`` of xraylarch
2026.3.1 (``npre=1``, ``nvict=0``, ``step=None``, ``iscalc=False``),
re-implemented for stacks of spectra on one energy grid. Where larch's
docstring and code differ, the code is followed (PHYSICS.md §4):

* e0, when absent or outside [E[1], E[-2]], is larch's ``find_e0``: the
  maximum of dμ/dE on the grid without its last point, then again on the
  ±75-point sub-window around it with dμ/dE smoothed by larch's Lorentzian
  ``smooth``; a maximum in the first 5 % of the points moves the sub-window;
* pre1 = 5·round((E[1] − e0)/5) (2·round(…/2) when e0 is at index ≤ 20),
  at least E_min − e0; pre2 = pre1/2;
* norm2 = min(5·round((E_max − e0)/5), E_max − e0);
  norm1 = min(25, 5·round(norm2/15), norm2 − 2);
  nnorm = 2 if norm2 − norm1 ≥ 300, 1 if ≥ 30, else 0;
* a line is fitted to μ on indices [index_of(e0 + pre1), index_nearest(e0 + pre2)),
  a constant (the mean) when that window is under 3 points wide; a polynomial
  of degree nnorm to μ − pre_edge on [index_of(e0 + norm1),
  index_nearest(e0 + norm2)), with larch's fallbacks for short windows;
* edge_step = |post_edge(E[ie0]) − pre_edge(E[ie0])|, at least 1e-12.

larch makes discrete, per-spectrum choices (the e0 sub-window, its smoothing
step, the fit index ranges). Here spectra are grouped by those choices and
each group is one batched computation: the linear smoothing operator of a
(start, stop, step) group is built once and applied with a matrix product,
and the fits are batched least squares over per-spectrum index windows
(:func:`~sloxide.analysis.leastsq.window_polyfit`). No
Python loop runs over spectra. larch drops NaN readings, which changes the
grid a spectrum is normalized on, so spectra are also grouped by their
pattern of NaN readings.

Where the results differ from larch's:

* larch evaluates its polynomials from coefficients in absolute energy;
  here they are fitted and evaluated in (E − centre)/half-width of their
  window. The two agree to ~1e-13 except where larch's form cancels
  catastrophically (nnorm ≥ 3 at hard X-ray energies, ~1e-5 there);
* an explicit e0 outside [E[1], E[-2]] is replaced by the found one, as in
  larch, but with a :class:`~sloxide.errors.SloxideWarning`;
* inputs larch would silently repair or crash on raise :class:`DataError`:
  unsorted or repeated energies (larch sorts and nudges duplicates by
  0.5 meV), ±inf, too few points to locate e0;
* inputs on which larch returns a meaningless ``norm`` raise
  :class:`DataError` too: a scan that ends less than 2 eV above e0 (larch
  then fits the "post-edge" below the edge), and an edge step at rounding
  level of μ (|step| ≤ 1e-9·max|μ|: no edge in the scan). larch's absolute
  1e-12 floor of the step is therefore never needed, and not applied: it
  made ``norm`` wrong for μ in tiny units (e.g. a TEY current in A).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import DataError, FitError, SloxideError, SloxideWarning
from ..units import (
    declare_units,
    labelled_dataset,
    parse_units,
    to_magnitude,
    units_of,
    with_attrs,
)
from .chunks import require_single_chunk
from .leastsq import WindowPolynomials, window_polyfit

__all__ = ["absorption", "normalize_xas", "energy_grid"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# larch.xafs.xafsutils.TINY_ENERGY: smaller energy steps count as duplicates.
TINY_ENERGY = 0.0005
# larch.xafs.pre_edge.MAX_NNORM
MAX_NNORM = 5
# Fewest finite points a spectrum may have.
MIN_POINTS = 5


# --------------------------------------------------------------------------- larch building blocks


def _group_rows(keys: NDArray[np.generic]) -> list[IntArray]:
    """Indices of the rows of ``keys`` (S, k) grouped by equal rows, in sorted key order."""
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=-1)])
    return np.split(order, starts[1:])


def _index_of(grid: FloatArray, value: FloatArray) -> IntArray:
    """larch ``index_of`` per spectrum: the last index with ``grid <= value``, 0 below the grid.

    ``grid`` is one increasing grid (n,); ``value`` is one number per spectrum (S,).
    """
    return np.maximum(np.searchsorted(grid, value, side="right") - 1, 0).astype(np.int64)


def _index_of_relative(grid: FloatArray, e0: FloatArray, value: FloatArray) -> IntArray:
    """larch ``index_of(grid - e0, value)`` per spectrum, with larch's rounding of ``grid - e0``."""
    n = grid.size
    count = np.searchsorted(grid, value + e0, side="right")
    # ``grid - e0 <= value`` and ``grid <= value + e0`` can differ in the last bit: step to
    # the exact count of the former (a monotone predicate along the grid).
    while True:
        up = (count < n) & (grid[np.minimum(count, n - 1)] - e0 <= value)
        down = (count > 0) & ~(grid[np.maximum(count - 1, 0)] - e0 <= value)
        if not (up.any() or down.any()):
            break
        count = count + up - down
    return np.maximum(count - 1, 0).astype(np.int64)


def _index_nearest(grid: FloatArray, value: FloatArray) -> IntArray:
    """larch ``index_nearest`` per spectrum: the first index of the smallest ``|grid - value|``."""
    n = grid.size
    right = np.searchsorted(grid, value, side="left")
    lo = np.clip(right - 1, 0, n - 1)
    hi = np.clip(right, 0, n - 1)
    return np.where(np.abs(grid[lo] - value) <= np.abs(grid[hi] - value), lo, hi).astype(np.int64)


def _find_energy_step(en: FloatArray, frac_ignore: float = 0.01, nave: int = 10) -> float:
    """larch ``find_energy_step`` on an increasing grid.

    Below 100 points larch's ``[nskip:-nskip]`` slice is empty and the result
    is NaN, which ``find_e0`` then treats as a 1 eV step; that is kept.
    """
    nskip = int(frac_ignore * len(en))
    ordered = en[:-1]  # np.where(np.diff(np.argsort(en)) == 1) on a sorted grid
    trimmed = ordered[nskip:-nskip]
    ediff = np.sort(np.diff(trimmed))[nskip : nskip + nave]
    return float(ediff.mean()) if ediff.size else math.nan


def _interp_matrix(x: FloatArray, xnew: FloatArray, clamp: bool) -> FloatArray:
    """Linear interpolation from ``x`` to ``xnew`` as a matrix.

    ``clamp=True`` holds the end values (``np.interp``); ``clamp=False``
    extends the end intervals linearly (larch ``interp``).
    """
    n = x.size
    j = np.clip(np.searchsorted(x, xnew, side="right") - 1, 0, n - 2)
    t = (xnew - x[j]) / (x[j + 1] - x[j])
    if clamp:
        t = np.clip(t, 0.0, 1.0)
    out = np.zeros((xnew.size, n))
    rows = np.arange(xnew.size)
    np.add.at(out, (rows, j), 1.0 - t)
    np.add.at(out, (rows, j + 1), t)
    return out


def _smooth_operator(x: FloatArray, xstep: float, sigma: float, npad: int = 5) -> FloatArray:
    """larch ``smooth(x, y, sigma, xstep=xstep)`` (Lorentzian) as an (n, n) matrix ``M``.

    larch interpolates y onto a uniform grid, mirrors it at both ends,
    convolves it with a normalized Lorentzian and interpolates back: every
    step is linear in y, so ``smooth(x, y) == M @ y``.
    """
    n = x.size
    xmin = xstep * int((min(x) - npad * xstep) / xstep)
    xmax = xstep * int((max(x) + npad * xstep) / xstep)
    npts = min(1 + int(abs(xmax - xmin + xstep * 0.1) / xstep), 50 * n)
    x0 = np.linspace(xmin, xmax, npts)
    width = sigma * (1.0 / xstep)
    wx = np.arange(2 * npts)
    tiny = 1.0e-15  # lmfit.lineshapes.tiny
    window = (1 / (1 + ((1.0 * wx - npts) / max(tiny, width)) ** 2)) / max(tiny, math.pi * width)
    window = window / window.sum()
    # y1 = concat(y0[npts:0:-1], y0, y0[::-1]); y2 = convolve(window, y1, "valid"),
    # so y2[k] = Σ_m window[m] · y0[mirror[k + 2·npts − 1 − m]].
    mirror = np.concatenate(
        [np.arange(npts - 1, 0, -1), np.arange(npts), np.arange(npts - 1, -1, -1)]
    )
    k = np.arange(npts)[:, None]
    source = mirror[k + 2 * npts - 1 - np.arange(2 * npts)[None, :]]
    convolution = np.bincount(
        (k * npts + source).ravel(),
        np.broadcast_to(window, source.shape).ravel(),
        minlength=npts * npts,
    ).reshape(npts, npts)
    to_uniform = _interp_matrix(x, x0, clamp=True)
    back = _interp_matrix(x0, x, clamp=False)
    return back @ (convolution @ to_uniform)


@functools.lru_cache(maxsize=32)
def _cached_smooth_operator(grid: bytes, step: float) -> FloatArray:
    """:func:`_smooth_operator` of larch's second ``_finde0`` pass, read-only and cached.

    Spectra whose NaN readings lie outside their e0 sub-window, and the dask
    chunks of one stack, share a grid and so the operator.
    """
    operator = _smooth_operator(np.frombuffer(grid, dtype=np.float64), step, step)
    operator.flags.writeable = False
    return operator


def _finde0_pass(
    energy: FloatArray, mu: FloatArray, operator: FloatArray | None
) -> tuple[FloatArray, IntArray]:
    """larch ``_finde0`` for spectra ``mu`` (S, n) on one grid: (energy, index) of the edge.

    ``operator`` is the smoothing matrix of the second pass (None: raw derivative).
    """
    # larch's ``ordered = np.where(np.diff(np.argsort(en)) == 1)[0]`` drops the last point.
    en = energy[:-1]
    size = en.size
    nmin = max(3, int(size * 0.02))
    if size - 2 * nmin < 1:
        raise DataError(
            f"locating e0 needs more points than the {energy.size} given around the edge "
            "(larch's find_e0 ignores 3 or more at each end); measure a longer scan or pass e0="
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        dmu = np.gradient(mu[:, :-1], axis=-1) / np.gradient(en)
    if operator is not None:
        dmu = dmu @ operator.T
    dmu = np.where(np.isfinite(dmu), dmu, -1.0)
    core = dmu[:, nmin:-nmin]
    low = core.min(axis=-1, keepdims=True)
    spread = np.maximum(1.0e-10, core.max(axis=-1, keepdims=True) - low)
    dmu = (dmu - low) / spread

    dhigh = 0.60 if size > 20 else 0.30
    # larch halves the threshold at most twice while fewer than 3 (then 4) points pass it.
    count0 = (dmu > dhigh).sum(axis=-1)
    count1 = (dmu > dhigh * 0.5).sum(axis=-1)
    threshold = np.where(count0 >= 3, dhigh, np.where(count1 > 3, dhigh * 0.5, dhigh * 0.5 * 0.5))
    high = dmu > threshold[:, None]
    high |= (high.sum(axis=-1) < 3)[:, None]
    # The largest derivative among high points whose neighbours are high too, ties to the first.
    index = np.arange(size)
    both = np.zeros_like(high)
    both[:, 1:-1] = high[:, :-2] & high[:, 2:]
    ok = high & both & (index >= nmin) & (index <= size - nmin) & (dmu > 0)
    imax = np.where(ok.any(axis=-1), np.argmax(np.where(ok, dmu, -np.inf), axis=-1), 0)
    return en[imax], imax.astype(np.int64)


def _find_e0(energy: FloatArray, mu: FloatArray) -> FloatArray:
    """larch ``find_e0`` for every spectrum of ``mu`` (S, n) on the grid ``energy``."""
    n = energy.size
    e1, ie0 = _finde0_pass(energy, mu, None)
    estep1 = _find_energy_step(energy[:-1])
    istart = np.maximum(3, ie0 - 75)
    istop = np.minimum(ie0 + 75, n - 3)
    # An edge in the first 5 % of the points is taken for a glitch.
    early = ie0 < 0.05 * n
    e1 = np.where(early, energy.mean(), e1)
    istart = np.where(early, np.maximum(3, ie0 - 20), istart)
    istop = np.where(early, n - 3, istop)
    # Python's min/max as larch calls them: min(1.0, nan) is 1.0.
    measured = max(0.01, min(1.0, estep1))
    estep = 0.5 * (measured + np.maximum(0.01, np.minimum(1.0, e1 / 25000.0)))

    keys = np.column_stack([istart, istop, estep])
    e0 = np.empty(mu.shape[0])
    for rows in _group_rows(keys):
        start, stop, step = keys[rows[0]]
        a, b = int(start), int(stop)
        sub = energy[a:b]
        x = np.ascontiguousarray(sub[:-1], dtype=np.float64)
        # Small operators (a ±75-point sub-window) are cached; whole-scan ones are not.
        operator = (
            _cached_smooth_operator(x.tobytes(), float(step))
            if x.size <= 400
            else _smooth_operator(x, float(step), float(step))
        )
        found, ix = _finde0_pass(sub, mu[rows, a:b], operator)
        e0[rows] = np.where(ix < 1, energy[a + 2], found)
    return e0


# --------------------------------------------------------------------------- pre-edge kernel


def _preedge_on_grid(
    energy: FloatArray,
    mu: FloatArray,
    e0: FloatArray,
    windows: dict[str, float | None],
    nnorm: int | None,
) -> tuple[dict[str, FloatArray], WindowPolynomials, WindowPolynomials]:
    """larch ``preedge`` for spectra ``mu`` (S, n), all finite on the increasing grid ``energy``.

    Returns the per-spectrum scalars and the pre-edge and post-edge polynomials.
    """
    n_spectra, n = mu.shape
    e0 = np.array(e0, dtype=float)
    find = ~np.isfinite(e0) | (e0 < energy[1]) | (e0 > energy[-2])
    if find.any():
        e0[find] = _find_e0(energy, mu[find])
    ie0 = _index_nearest(energy, e0)
    below, above = energy[0] - e0, energy[-1] - e0

    def given(name: str) -> FloatArray | None:
        value = windows[name]
        return None if value is None else np.full(n_spectra, float(value))

    pre1 = given("pre1")
    if pre1 is None:
        start = energy[1] - e0  # larch skips the first point, often bad
        pre1 = np.where(ie0 > 20, 5.0 * np.round(start / 5.0), 2.0 * np.round(start / 2.0))
    pre1 = np.maximum(pre1, below)
    pre2 = given("pre2")
    if pre2 is None:
        pre2 = 0.5 * pre1
    pre1, pre2 = np.minimum(pre1, pre2), np.maximum(pre1, pre2)
    narrow = _index_of_relative(energy, e0, pre2) - _index_of_relative(energy, e0, pre1) < 3
    npre = np.where(narrow, 0, 1).astype(np.int64)

    norm2 = given("norm2")
    if norm2 is None:
        norm2 = 5.0 * np.round(above / 5.0)
    norm2 = np.minimum(np.where(norm2 < 0, above - norm2, norm2), above)
    norm1 = given("norm1")
    if norm1 is None:
        norm1 = np.minimum(25.0, 5.0 * np.round(norm2 / 15.0))
    norm1, norm2 = np.minimum(norm1, norm2), np.maximum(norm1, norm2)
    # Where larch would fit its "post-edge" below e0 or on the last readings of a scan
    # that stops short of the given window, it returns a meaningless norm without a word:
    # refuse a scan ending within 2 eV above e0, and explicit windows that lie
    # outside the scan.
    start = windows["norm1"]  # as given: the swap above hides a window beyond the scan
    short = (above < 2) | (float(start) > above if start is not None else False)
    if short.any():
        i = int(np.argmax(short))
        raise DataError(
            f"the scan ends {float(above[i]):.3g} eV above e0 = {float(e0[i]):.6g} eV, which "
            f"leaves no post-edge window (at least 2 eV, from norm1 = {float(norm1[i]):.3g} "
            "eV); measure further above the edge, or pass e0= and norm1=, norm2= within the scan"
        )
    if windows["pre2"] is not None:
        end = max(float(v) for v in (windows["pre1"], windows["pre2"]) if v is not None)
        if (end < below).any():
            i = int(np.argmax(end < below))
            raise DataError(
                f"the pre-edge window ends at {end:.3g} eV, before the scan starts "
                f"({float(below[i]):.3g} eV from e0 = {float(e0[i]):.6g} eV); pass pre1=, "
                "pre2= within the scan"
            )
    norm1 = np.minimum(norm1, norm2 - 2)
    if nnorm is None:
        span = norm2 - norm1
        degree = np.where(span < 30, 0, np.where(span < 300, 1, 2))
    else:
        degree = np.full(n_spectra, nnorm)
    degree = np.clip(degree, 0, MAX_NNORM).astype(np.int64)

    # Pre-edge line, or the mean when narrow: [index_of(e0 + pre1), index_nearest(e0 + pre2)).
    p1 = _index_of(energy, pre1 + e0)
    p2 = _index_nearest(energy, pre2 + e0)
    p2 = np.where(
        narrow,
        np.where(p2 == p1, p2 + 1, p2),
        np.where(p2 - p1 < 2, np.minimum(n, p1 + 2), p2),
    )
    pre_edge = window_polyfit(energy, mu, p1, p2, npre, "pre-edge")

    # Post-edge polynomial of μ − pre_edge: [index_of(e0 + norm1), index_nearest(e0 + norm2)).
    q1 = _index_of(energy, norm1 + e0)
    q2 = _index_nearest(energy, norm2 + e0)
    q1 = np.where(q1 > n - 3, n - 3, q1)
    width = q2 - q1
    degree = np.where(width < 2, 0, np.where(width < 5, np.minimum(1, degree), degree))
    q1 = np.where(width < 2, q1 - 2, q1)
    if (q1 < 0).any():
        raise FitError(
            "the post-edge window norm1..norm2 lies at the start of the scan; "
            "pass norm1= and norm2= above the edge (eV relative to e0)"
        )
    post_edge = window_polyfit(energy, mu, q1, q2, degree, "post-edge", baseline=pre_edge)
    step = np.abs(post_edge.at(energy[ie0]))
    # A step at rounding level of μ means the scan holds no edge (e.g. a pre-edge only):
    # larch's 1e-12 floor then turns rounding into "norm". The floor is
    # absolute, so it also distorted μ in tiny units; a relative test replaces it.
    flat = step <= 1e-9 * np.max(np.abs(mu), axis=-1)
    if flat.any():
        i = int(np.argmax(flat))
        raise DataError(
            f"the edge step is {float(step[i]):.3g}, at rounding level of μ: the scan shows no "
            f"edge near e0 = {float(e0[i]):.6g} eV; check that it crosses the edge, or pass "
            "the edge energy as e0="
        )
    scalars = {
        "e0": e0,
        "edge_step": step,
        "pre1": pre1,
        "pre2": pre2,
        "norm1": norm1,
        "norm2": norm2,
        "nnorm": degree.astype(float),
    }
    return scalars, pre_edge, post_edge


def _nan_groups(finite: NDArray[np.bool_]) -> list[tuple[IntArray, NDArray[np.bool_]]]:
    """Rows of ``finite`` grouped by their pattern of finite points: [(rows, pattern)]."""
    complete = finite.all(axis=-1)
    groups = []
    if complete.any():
        groups.append((np.flatnonzero(complete), np.ones(finite.shape[-1], dtype=bool)))
    partial = np.flatnonzero(~complete)
    if partial.size:
        packed = np.packbits(finite[partial], axis=-1)
        packed = np.pad(packed, ((0, 0), (0, -packed.shape[-1] % 8)))
        for rows in _group_rows(packed.view(np.uint64)):
            groups.append((partial[rows], finite[partial[rows[0]]]))
    return groups


_SCALAR_OUTPUTS = ("e0", "edge_step", "pre1", "pre2", "norm1", "norm2", "nnorm")


def _normalize_kernel(
    mu: FloatArray,
    e0: FloatArray,
    *,
    energy: FloatArray,
    windows: dict[str, float | None],
    nnorm: int | None,
    name: str,
) -> tuple[FloatArray, ...]:
    lead = mu.shape[:-1]
    n = mu.shape[-1]
    spectra = np.asarray(mu, dtype=float).reshape(-1, n)
    guesses = np.broadcast_to(np.asarray(e0, dtype=float), lead).reshape(-1)
    finite = np.isfinite(spectra)
    groups = [(np.arange(spectra.shape[0]), np.ones(n, dtype=bool))]
    if not finite.all():
        if np.isinf(spectra).any():
            raise DataError(f"{name} contains ±inf; mark missing readings as NaN instead")
        count = finite.sum(axis=-1)
        if (count == 0).any():
            raise DataError(
                f"{name} is all NaN in {int((count == 0).sum())} spectrum(s); drop them first, "
                f"e.g. with .dropna(..., how='all')"
            )
        if (count < MIN_POINTS).any():
            raise DataError(
                f"{name} has only {int(count.min())} finite points in at least one spectrum; "
                f"normalization needs at least {MIN_POINTS}"
            )
        groups = _nan_groups(finite)
    n_spectra = spectra.shape[0]
    scalars = {key: np.empty(n_spectra) for key in _SCALAR_OUTPUTS}
    pre = WindowPolynomials(np.zeros((n_spectra, 2)), np.zeros(n_spectra), np.ones(n_spectra))
    post = WindowPolynomials(
        np.zeros((n_spectra, MAX_NNORM + 1)), np.zeros(n_spectra), np.ones(n_spectra)
    )
    for rows, keep in groups:
        # larch drops NaN readings (remove_nans2): each NaN pattern is fitted on its own grid.
        whole = rows.size == n_spectra and keep.all()
        values = spectra if whole else spectra[np.ix_(rows, keep)]
        found, pre_g, post_g = _preedge_on_grid(
            energy[keep], values, guesses[rows], windows, nnorm
        )
        for key in _SCALAR_OUTPUTS:
            scalars[key][rows] = found[key]
        for target, fitted in ((pre, pre_g), (post, post_g)):
            target.coef[rows, : fitted.coef.shape[-1]] = fitted.coef
            target.centre[rows] = fitted.centre
            target.half[rows] = fitted.half
    # One evaluation of every curve on the full grid, NaN readings included.
    top = int(scalars["nnorm"].max()) + 1
    line = WindowPolynomials(pre.coef[:, : 1 + int(pre.coef[:, 1].any())], *pre[1:]).on_grid(
        energy
    )
    post_edge = line + WindowPolynomials(post.coef[:, :top], *post[1:]).on_grid(energy)
    norm = spectra - line
    norm /= scalars["edge_step"][:, None]
    pre_edge, post_edge = (
        a if a.shape == spectra.shape else np.repeat(a, n, axis=1) for a in (line, post_edge)
    )
    curves = tuple(a.reshape(*lead, n) for a in (norm, pre_edge, post_edge))
    return curves + tuple(scalars[key].reshape(lead) for key in _SCALAR_OUTPUTS)


# --------------------------------------------------------------------------- xarray layer


def energy_grid(
    spectra: xr.DataArray, energy: xr.DataArray | None, dim: str, name: str
) -> FloatArray:
    """The energy grid in eV that all of ``spectra`` share along ``dim``, validated.

    Parameters
    ----------
    spectra : xarray.DataArray
        Spectra over ``dim``, with any extra dims.
    energy : xarray.DataArray or None
        Energy along ``dim`` in eV (the callers convert it); None takes the
        ``dim`` coordinate, which then needs energy units.
    dim : str
        The energy dim.
    name : str
        Name of the spectra in error messages.

    Returns
    -------
    numpy.ndarray
        The grid in eV, strictly increasing.

    Raises
    ------
    DataError
        If there is no energy, the spectra lie on different grids, or the
        grid is too short (under 5 points), not finite, not strictly
        increasing, or has steps below larch's 0.5 meV duplicate threshold.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.analysis.xas import energy_grid
    >>> mu = xr.DataArray(np.ones(5), dims="energy",
    ...                   coords={"energy": ("energy", np.arange(5) * 1e3, {"units": "meV"})})
    >>> energy_grid(mu, None, "energy", "mu")
    array([0., 1., 2., 3., 4.])
    """
    if energy is None:
        if dim not in spectra.coords:
            raise DataError(
                f"{name} has no {dim!r} coordinate; pass energy= or assign one, e.g. "
                f"{name}.assign_coords({dim}=('{dim}', values, {{'units': 'eV'}}))"
            )
        energy = to_magnitude(spectra[dim], "eV", name=f"the {dim!r} coordinate")
    if dim not in energy.dims:
        raise DataError(f"energy has dims {energy.dims}, not {dim!r}; pass dim=")
    values = np.asarray(energy.transpose(..., dim).values, dtype=float)
    if values.ndim > 1:
        rows = values.reshape(-1, values.shape[-1])
        if not (rows == rows[:1]).all():
            raise DataError(
                f"the spectra are on different energy grids (energy has dims {energy.dims}); "
                f"interpolate them onto one common grid first, e.g. "
                f"{name}.interp({dim}=common_grid) for each spectrum"
            )
        values = rows[0]
    if values.size != spectra.sizes[dim]:
        raise DataError(
            f"energy has {values.size} points but {name} has {spectra.sizes[dim]} along {dim!r}; "
            "pass the energy of these spectra"
        )
    if values.size < MIN_POINTS:
        raise DataError(
            f"{name} has only {values.size} points along {dim!r}; at least {MIN_POINTS} are "
            "needed: measure a longer scan"
        )
    if not np.isfinite(values).all():
        raise DataError(
            f"the energy grid along {dim!r} contains NaN or ±inf; keep the finite points, "
            f"e.g. {name}.isel({dim}=np.isfinite({name}[{dim!r}]).values)"
        )
    steps = np.diff(values)
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0))
        raise DataError(
            f"the energy grid along {dim!r} must be strictly increasing, but E[{i + 1}] = "
            f"{values[i + 1]:.6g} eV follows E[{i}] = {values[i]:.6g} eV; sort it with "
            f"{name}.sortby({dim!r}) and drop repeated energies "
            f"({name}.drop_duplicates({dim!r}))"
        )
    if steps.min() < TINY_ENERGY:
        raise DataError(
            f"the energy grid along {dim!r} has steps of {steps.min():.2g} eV, below larch's "
            f"{TINY_ENERGY} eV duplicate threshold; average or drop near-duplicate energies"
        )
    return values


def _ratio_kernel(tey: FloatArray, i0: FloatArray, names: tuple[str, str]) -> FloatArray:
    for values, label in zip((tey, i0), names, strict=True):
        if np.isinf(values).any():
            raise DataError(f"{label} contains ±inf; mark missing readings as NaN instead")
    if (i0 == 0).any():
        raise DataError(
            f"{names[1]} is 0 in at least one reading, so TEY/I0 is undefined there; mark "
            f"those readings NaN, e.g. ds[{names[1]!r}] = "
            f"ds[{names[1]!r}].where(ds[{names[1]!r}] != 0)"
        )
    return np.asarray(tey / i0, dtype=float)


@declare_units(tey="any", i0="any")
def absorption(tey: xr.DataArray, i0: xr.DataArray | None = None) -> xr.DataArray:
    """The absorption μ = TEY/I0 that :func:`normalize_xas` takes.

    Dividing by the incident flux removes its fluctuation and drift, reading by
    reading. The division refuses what it would otherwise hide: ±inf in I0
    gave μ = 0, and I0 = 0 gave ±inf.

    Parameters
    ----------
    tey : xarray.DataArray
        Total electron yield, any units.
    i0 : xarray.DataArray, optional
        Incident flux on the same readings, any units; without it, μ is the TEY.

    Returns
    -------
    xarray.DataArray
        μ named ``mu``, in the units of TEY/I0, with ``quantity="mu"``.

    Raises
    ------
    DataError
        If either holds ±inf, or I0 is 0 at a reading.

    Examples
    --------
    >>> import xarray as xr
    >>> from sloxide.analysis.xas import absorption
    >>> tey = xr.DataArray([2.0, 3.0], dims="energy", attrs={"units": "nA"})
    >>> i0 = xr.DataArray([4.0, 6.0], dims="energy", attrs={"units": "nA"})
    >>> mu = absorption(tey, i0)
    >>> mu.values, mu.attrs["units"]
    (array([0.5, 0.5]), 'dimensionless')
    """
    if i0 is None:
        return tey.rename("mu").assign_attrs(quantity="mu")
    ratio = parse_units(units_of(tey) or "1") / parse_units(units_of(i0) or "1")
    mu = xr.apply_ufunc(
        _ratio_kernel,
        tey,
        i0,
        kwargs={"names": (str(tey.name or "tey"), str(i0.name or "i0"))},
        dask="parallelized",
        output_dtypes=[float],
    )
    return mu.rename("mu").pipe(with_attrs, units=str(ratio), long_name="TEY/I0", quantity="mu")


@declare_units(mu="any", energy="eV", e0="eV", pre1="eV", pre2="eV", norm1="eV", norm2="eV")
def normalize_xas(
    mu: xr.DataArray,
    energy: xr.DataArray | None = None,
    *,
    dim: str = "energy",
    e0: float | xr.DataArray | None = None,
    pre1: float | None = None,
    pre2: float | None = None,
    norm1: float | None = None,
    norm2: float | None = None,
    nnorm: int | None = None,
    shared_e0_dim: str | None = "incidence_angle",
) -> xr.Dataset:
    """Pre-edge subtraction and edge-step normalization of X-ray absorption spectra.

    The algorithm of ``larch.xafs.pre_edge.preedge`` (xraylarch 2026.3.1,
    ``npre=1``, ``nvict=0``) for every spectrum of a stack at once: a line
    fitted below the edge is subtracted, a polynomial of degree ``nnorm``
    fitted to the rest above the edge gives the edge step at e0, and
    ``norm = (mu − pre_edge)/edge_step``. The defaults of e0 and the windows
    are larch's code (PHYSICS.md §4; the module docstring lists them).

    Parameters
    ----------
    mu : xarray.DataArray
        Absorption μ(E) (e.g. TEY/I0) over ``dim``, any units, with any
        extra dims (sample, incidence angle, ...): a stack of spectra on one
        energy grid. NaN marks a missing reading: as larch does, that point
        is dropped, so the spectrum is normalized on its remaining points
        (fitted per NaN pattern); its ``norm`` is NaN there, while
        ``pre_edge`` and ``post_edge`` are evaluated at every energy.
    energy : xarray.DataArray, optional
        Energy along ``dim`` in any energy units (default: the ``dim``
        coordinate, which then needs units). It must be strictly increasing
        and shared by all spectra.
    dim : str, default "energy"
        The energy dim. It must be a single dask chunk.
    e0 : float or xarray.DataArray, optional
        Edge energy in eV, a scalar or one per spectrum (over the extra
        dims). Default (or NaN, or outside [E[1], E[-2]], as in larch): found
        per spectrum with larch's ``find_e0``. Pass the same explicit e0 and
        windows for both spectra of an XLD pair (PHYSICS.md §4).
    pre1, pre2 : float, optional
        Pre-edge fit range in eV relative to e0; larch's defaults.
    norm1, norm2 : float, optional
        Post-edge fit range in eV relative to e0; larch's defaults.
    nnorm : int, optional
        Degree of the post-edge polynomial (0–5); default by the length of
        the post-edge range: 2 from 300 eV, 1 from 30 eV, else 0.
    shared_e0_dim : str or None, default "incidence_angle"
        Spectra along this dim share one e0, located on their mean when e0 is
        not given, so both spectra of an XLD pair get the same e0 and windows
        (PHYSICS.md §4). None locates e0 per spectrum, as larch does.

    Returns
    -------
    xarray.Dataset
        ``norm`` (mu's dims, dimensionless), ``pre_edge`` and ``post_edge``
        (mu's dims and units), and per spectrum: ``e0`` (eV), ``edge_step``
        (mu's units), the windows actually used ``pre1``, ``pre2``,
        ``norm1``, ``norm2`` (eV relative to e0) and ``nnorm`` (the degree
        used, as a float).

    Raises
    ------
    DataError
        If the energy grid is not strictly increasing, not shared by all
        spectra or too short, or a spectrum is all NaN, has fewer than 5
        finite points, or holds ±inf; if the scan ends less than 2 eV above
        e0, or shows no edge step (at rounding level of μ).
    FitError
        If a fit window holds too few points.
    UnitsError
        If mu, the energy or a window lacks units or has incompatible ones.

    Warns
    -----
    SloxideWarning
        If a scalar e0 lies outside [E[1], E[-2]] and is therefore located.

    Notes
    -----
    On dask input the result stays lazy: each chunk of spectra is normalized
    on its own when computed. The cost is one batched computation per group
    of spectra that share larch's discrete choices and their pattern of NaN
    readings; a stack where every spectrum has NaN readings in its own places
    costs about 1 ms per spectrum (0.2 ms with explicit e0 and windows).

    Examples
    --------
    An erf edge step of 0.35 at 870.6 eV on a sloping background, with the
    Ni L2 windows of PHYSICS.md §4:

    >>> import numpy as np, xarray as xr
    >>> from scipy.special import erf
    >>> from sloxide.analysis.xas import normalize_xas
    >>> e = np.round(np.arange(862.0, 885.05, 0.1), 2)
    >>> mu = 0.2 + 0.004 * (e - 862) + 0.35 * 0.5 * (1 + erf((e - 870.6) / 0.8))
    >>> spectrum = xr.DataArray(mu, dims="energy", attrs={"units": "1"},
    ...                         coords={"energy": ("energy", e, {"units": "eV"})})
    >>> out = normalize_xas(spectrum, e0=870.0, pre1=-8, pre2=-3, norm1=9, norm2=15)
    >>> round(float(out.edge_step), 4), float(out.nnorm)
    (0.35, 0.0)
    >>> out.norm.sel(energy=[865.0, 880.0]).values.round(4)
    array([0., 1.])

    With larch's defaults, e0 sits at the steepest rise:

    >>> float(normalize_xas(spectrum).e0)
    870.6
    """
    name = str(mu.name) if mu.name is not None else "mu"
    if dim not in mu.dims:
        raise DataError(f"{name} has dims {mu.dims}, not the energy dim {dim!r}; pass dim=")
    require_single_chunk(mu, dim, name)
    grid = energy_grid(mu, energy, dim, name)
    if e0 is None and shared_e0_dim is not None and shared_e0_dim in mu.dims:
        mean = mu.mean(shared_e0_dim, keep_attrs=True)
        e0 = normalize_xas(mean, energy, dim=dim, shared_e0_dim=None)["e0"]
    if nnorm is not None and (isinstance(nnorm, bool) or int(nnorm) != nnorm):
        raise SloxideError(
            f"nnorm must be an integer polynomial degree (0-5), got {nnorm!r}; pass e.g. nnorm=1"
        )
    if isinstance(e0, xr.DataArray):
        if dim in e0.dims:
            raise DataError(
                f"e0 has the energy dim {dim!r}; give one e0 per spectrum (over {name}'s "
                "other dims) or a scalar"
            )
        guess = e0.pipe(with_attrs)
    else:
        guess = xr.DataArray(np.nan if e0 is None else float(e0))
        if e0 is not None and not grid[1] <= float(e0) <= grid[-2]:
            warnings.warn(
                f"e0 = {float(e0):.6g} eV is outside the scan's [E[1], E[-2]] = "
                f"[{grid[1]:.6g}, {grid[-2]:.6g}] eV, so (as larch does) e0 is located from "
                "the data instead; pass an e0 inside the scan",
                SloxideWarning,
                stacklevel=3,
            )
    units = units_of(mu) or "1"
    windows = {"pre1": pre1, "pre2": pre2, "norm1": norm1, "norm2": norm2}
    results = xr.apply_ufunc(
        _normalize_kernel,
        mu.pipe(with_attrs),
        guess,
        input_core_dims=[[dim], []],
        output_core_dims=[[dim]] * 3 + [[]] * len(_SCALAR_OUTPUTS),
        kwargs={
            "energy": grid,
            "windows": windows,
            "nnorm": None if nnorm is None else int(nnorm),
            "name": name,
        },
        dask="parallelized",
        output_dtypes=[float] * (3 + len(_SCALAR_OUTPUTS)),
    )
    outputs = (
        ("norm", "1", "normalized absorption"),
        ("pre_edge", units, "pre-edge line"),
        ("post_edge", units, "post-edge curve (pre-edge line + polynomial)"),
        ("e0", "eV", "edge energy E0"),
        ("edge_step", units, "edge step at E0"),
        ("pre1", "eV", "start of the pre-edge fit range, relative to E0"),
        ("pre2", "eV", "end of the pre-edge fit range, relative to E0"),
        ("norm1", "eV", "start of the post-edge fit range, relative to E0"),
        ("norm2", "eV", "end of the post-edge fit range, relative to E0"),
        ("nnorm", "1", "degree of the post-edge polynomial"),
    )
    description = (
        "pre-edge normalization as larch.xafs.pre_edge.preedge (xraylarch 2026.3.1), "
        "npre=1, nvict=0"
    )
    out = labelled_dataset(outputs, results, {"description": description})
    return out.transpose(*mu.dims, ...)
