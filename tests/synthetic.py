"""Synthetic measurements with known parameters and stated noise, for the tests.

Every generator takes a numpy ``Generator`` so each test states its seed.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from sloxide.model.magnetism import branch_magnetization


def loop_fields(field_max: float = 9.0, step: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """The field_loop plan's sweep 0 → +Hmax → −Hmax → +Hmax, and each reading's direction."""
    k = int(round(field_max / step))
    virgin = np.arange(0, k + 1) * step
    down = np.arange(k - 1, -k - 1, -1) * step
    up = np.arange(-k + 1, k + 1) * step
    field = np.concatenate([virgin, down, up])
    direction = np.concatenate([np.ones(virgin.size), -np.ones(down.size), np.ones(up.size)])
    return field, direction


def hall_loop(
    rng: np.random.Generator | None,
    *,
    coercive: float = 0.97,
    width: float = 0.659,
    delta_rho: float = 0.03,
    r0: float = 0.02,
    rho_xx0: float = 0.4,
    pickup: float = 2e-4,
    noise_xy: float = 5e-4,
    noise_xx: float = 1e-5,
    a_dom: float = 0.0025,
    a_lin: float = 0.0,
    a_orb: float = 0.0,
    exchange_bias: float = 0.0,
    field_max: float = 9.0,
    step: float = 0.02,
) -> xr.Dataset:
    """A field loop in µΩ·cm / mΩ·cm with the PHYSICS.md §7 observables.

    ρ_xy = R0·µ0H + Δρ·m_b + pickup·ρ_xx[µΩ·cm] + noise_xy (absolute, µΩ·cm);
    ρ_xx = ρ0·[1 + a_dom·(1 − m_b²) − a_lin·|µ0H| + a_orb·(µ0H)²]·(1 + noise_xx).
    The virgin segment follows the up branch; it is never used.
    """
    field, direction = loop_fields(field_max, step)
    m = branch_magnetization(field - exchange_bias, direction, coercive, width)
    rho_xx = rho_xx0 * (1 + a_dom * (1 - m**2) - a_lin * np.abs(field) + a_orb * field**2)
    rho_xy = r0 * field + delta_rho * m + pickup * rho_xx * 1e3  # ρ_xx in µΩ·cm
    if rng is not None:
        rho_xx = rho_xx * (1 + noise_xx * rng.standard_normal(field.size))
        rho_xy = rho_xy + noise_xy * rng.standard_normal(field.size)
    time = np.arange(field.size, dtype=float)
    return xr.Dataset(
        {
            "field": ("time", field, {"units": "T", "quantity": "field"}),
            "rho_xy": ("time", rho_xy, {"units": "uohm*cm", "quantity": "rho_xy"}),
            "rho_xx": ("time", rho_xx, {"units": "mohm*cm", "quantity": "rho_xx"}),
        },
        coords={"time": ("time", time, {"units": "s"})},
    )
