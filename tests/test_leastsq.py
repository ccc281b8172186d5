"""Tests of sloxide.analysis.leastsq: batched masked least squares and local polynomial fits.

Reference: numpy.linalg.lstsq, one curve at a time. Errors follow
σ̂² = RSS/(N − p), Cov = σ̂²·(XᵀX)⁻¹ (PHYSICS.md §3 "Errors").
"""

from __future__ import annotations

import numpy as np
import pytest

from sloxide.analysis.leastsq import LinearFit, local_polyfit, masked_lstsq


def _design(x, degree):
    return x[..., None] ** np.arange(degree + 1)


def _lstsq_one(design, y, use):
    """Coefficients and covariance of one curve from numpy.linalg.lstsq on the used points."""
    X, yy = design[use], y[use]
    coef, *_ = np.linalg.lstsq(X, yy, rcond=None)
    dof = X.shape[0] - X.shape[1]
    variance = np.sum((yy - X @ coef) ** 2) / dof
    return coef, variance * np.linalg.inv(X.T @ X)


def _stack(rng, shape=(3, 4), n=40, degree=2, noise=0.05):
    x = np.linspace(-1.0, 2.0, n)
    true = rng.normal(0.0, 1.0, (*shape, degree + 1))
    y = np.einsum("ni,...i->...n", _design(x, degree), true) + rng.normal(0.0, noise, (*shape, n))
    return x, y, true


def test_stack_equals_per_curve_lstsq():
    rng = np.random.default_rng(21)
    x, y, _ = _stack(rng)
    design = _design(x, 2)
    fit = masked_lstsq(design, y, np.ones_like(y, dtype=bool))
    assert isinstance(fit, LinearFit)
    assert fit.coef.shape == (3, 4, 3)
    assert fit.cov.shape == (3, 4, 3, 3)
    assert fit.stderr.shape == (3, 4, 3)
    for index in np.ndindex(3, 4):
        coef, cov = _lstsq_one(design, y[index], np.ones(x.size, dtype=bool))
        np.testing.assert_allclose(fit.coef[index], coef, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fit.cov[index], cov, rtol=1e-10, atol=0)
        assert fit.n[index] == x.size


def test_masks_and_nans_are_ignored():
    rng = np.random.default_rng(22)
    x, y, _ = _stack(rng, shape=(6,))
    design = _design(x, 2)
    mask = rng.random(y.shape) > 0.2
    y = y.copy()
    y[rng.random(y.shape) < 0.1] = np.nan
    # Values that are masked out may be anything, even huge: they must not leak in.
    y[~mask] = 1e30
    fit = masked_lstsq(design, y, mask)
    use = mask & np.isfinite(y)
    for i in range(y.shape[0]):
        coef, cov = _lstsq_one(design, y[i], use[i])
        np.testing.assert_allclose(fit.coef[i], coef, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fit.cov[i], cov, rtol=1e-9, atol=0)
        assert fit.n[i] == use[i].sum()


def test_nan_in_design_rows_outside_the_mask_does_not_leak():
    x = np.linspace(0.0, 1.0, 11)
    design = np.stack([np.ones_like(x), x], axis=-1)
    design[0, 1] = np.nan  # e.g. 1/T at T = 0, outside the fit window
    y = 2.0 + 3.0 * x + np.array([0, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1]) * 1e-3
    mask = np.ones_like(x, dtype=bool)
    mask[0] = False
    fit = masked_lstsq(design, y, mask)
    coef, _ = _lstsq_one(design, y, mask)
    np.testing.assert_allclose(fit.coef, coef, rtol=1e-12)


def test_design_broadcasts_per_curve():
    rng = np.random.default_rng(23)
    x = rng.uniform(0.0, 1.0, (5, 30))  # each curve its own abscissa
    y = 1.0 - 2.0 * x + rng.normal(0.0, 0.01, x.shape)
    design = _design(x, 1)
    fit = masked_lstsq(design, y, np.ones_like(y, dtype=bool))
    for i in range(5):
        coef, _ = _lstsq_one(design[i], y[i], np.ones(30, dtype=bool))
        np.testing.assert_allclose(fit.coef[i], coef, rtol=1e-12, atol=1e-12)


def test_exact_data_are_recovered_exactly():
    x = np.linspace(-3.0, 3.0, 25)
    truth = np.array([0.5, -1.25, 0.75])
    fit = masked_lstsq(_design(x, 2), _design(x, 2) @ truth, np.ones_like(x, dtype=bool))
    np.testing.assert_allclose(fit.coef, truth, rtol=1e-12)
    assert fit.rms < 1e-12


def test_under_determined_curves_give_nan_not_an_exception():
    rng = np.random.default_rng(24)
    x, y, _ = _stack(rng, shape=(4,), n=20)
    design = _design(x, 2)  # p = 3
    mask = np.ones_like(y, dtype=bool)
    mask[1, 3:] = False  # exactly p points: no residual left
    mask[2, 1:] = False  # fewer than p points
    mask[3, :] = False  # nothing
    fit = masked_lstsq(design, y, mask)
    assert np.all(np.isfinite(fit.coef[0]))
    assert np.all(np.isnan(fit.coef[1:]))
    assert np.all(np.isnan(fit.cov[1:]))
    assert list(fit.n) == [20, 3, 1, 0]


def test_rank_deficient_design_gives_nan():
    # Curve 1 has all its 20 points at one x: the slope is undefined despite the points.
    x = np.stack([np.linspace(0.0, 1.0, 20), np.full(20, 0.5)])
    design = _design(x, 1)
    y = 1.0 + x + np.linspace(-1e-3, 1e-3, 20)
    fit = masked_lstsq(design, y, np.ones_like(y, dtype=bool))
    assert np.all(np.isfinite(fit.coef[0]))
    assert np.all(np.isnan(fit.coef[1]))


def test_stderr_matches_monte_carlo_scatter():
    # 400 seeded realizations of a line + parabola with σ = 0.1 noise on 30 points.
    # The standard deviation of 400 estimates scatters by 1/sqrt(2·399) ≈ 3.5 %;
    # the mean reported stderr by less. ±20 % is > 5 of those.
    rng = np.random.default_rng(25)
    sigma = 0.1
    x = np.linspace(0.0, 2.0, 30)
    design = _design(x, 2)
    truth = np.array([1.0, -0.5, 0.25])
    y = design @ truth + rng.normal(0.0, sigma, (400, x.size))
    fit = masked_lstsq(design, y, np.ones_like(y, dtype=bool))
    scatter = fit.coef.std(axis=0, ddof=1)
    reported = np.sqrt((fit.stderr**2).mean(axis=0))
    np.testing.assert_allclose(reported, scatter, rtol=0.2)
    # and both agree with the exact σ·sqrt(diag (XᵀX)⁻¹)
    exact = sigma * np.sqrt(np.diag(np.linalg.inv(design.T @ design)))
    np.testing.assert_allclose(reported, exact, rtol=0.05)
    # the residual rms estimates σ
    assert float(np.median(fit.rms)) == pytest.approx(sigma, rel=0.05)
    # unbiased coefficients: mean within 4 standard errors of the mean
    assert np.all(np.abs(fit.coef.mean(axis=0) - truth) < 4 * scatter / np.sqrt(400))


def test_local_polyfit_recovers_a_parabola_vertex():
    # y = a·(x − x0)² + y0; fitted around a centre near the vertex, the vertex is
    # x0 = c − b1/(2·b2) and y0 = b0 − b1²/(4·b2).
    rng = np.random.default_rng(26)
    x = np.linspace(-2.0, 2.0, 401)
    a, x0, y0 = -1.7, 0.337, 0.52
    noise = 1e-3
    y = a * (x - x0) ** 2 + y0 + rng.normal(0.0, noise, x.size)
    centre = np.array(0.3)  # e.g. the grid argmax
    fit = local_polyfit(x, y, centre, 0.2, 2)
    b0, b1, b2 = fit.coef
    vertex = float(centre - b1 / (2 * b2))
    assert b2 == pytest.approx(a, abs=4 * fit.stderr[2])
    # δx0 ≈ σ_b1/(2|b2|); allow 4 of them
    assert vertex == pytest.approx(x0, abs=4 * fit.stderr[1] / (2 * abs(b2)))
    assert float(b0 - b1**2 / (4 * b2)) == pytest.approx(y0, abs=4 * noise)
    # 0.2 half-width on a 0.01 grid: 41 points
    assert int(fit.n) == 41


def test_local_polyfit_vectorized_centres_and_exact_parabolas():
    x = np.linspace(-1.0, 1.0, 201)
    vertices = np.array([-0.4, 0.0, 0.25, 0.61])
    curvatures = np.array([1.0, -2.0, 0.5, 3.0])
    y = curvatures[:, None] * (x - vertices[:, None]) ** 2
    centres = vertices + 0.02  # a grid-step off the vertex
    fit = local_polyfit(x, y, centres, 0.1, 2)
    np.testing.assert_allclose(
        centres - fit.coef[:, 1] / (2 * fit.coef[:, 2]), vertices, atol=1e-12
    )
    np.testing.assert_allclose(fit.coef[:, 2], curvatures, rtol=1e-9)
    # A window with too few points for a parabola gives NaN, not an exception.
    narrow = local_polyfit(x, y, centres, 0.005, 2)
    assert np.all(np.isnan(narrow.coef))


def test_local_polyfit_window_edges_are_inclusive():
    x = np.arange(0.0, 21.0)  # 1 K grid
    y = 3.0 - 0.5 * x
    fit = local_polyfit(x, y, np.array([10.0]), 5.0, 1)
    # |x − 10| ≤ 5 holds 11 points, as PHYSICS.md §5's tangent window needs
    assert int(fit.n[0]) == 11
    np.testing.assert_allclose(fit.coef[0], [3.0 - 5.0, -0.5], atol=1e-12)
