"""The reproduction table: the paper's numbers beside the reduced ones.

Until the simulated campaign (plans, catalog) lands, :func:`synthetic_preview`
builds the C10/L6 measurements directly from :mod:`sloxide.model` with the
noise of PHYSICS.md §7 and reduces them through the ``.sloxide`` accessor,
exactly as an analyst would reduce measured data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .model.magnetism import saturation_magnetization
from .model.samples import SAMPLES, Sample
from .model.transport import field_loop_resistivities

__all__ = ["Comparison", "synthetic_preview", "format_table"]


@dataclass(frozen=True)
class Comparison:
    """One row of the reproduction table."""

    quantity: str
    units: str
    paper: float
    reproduced: float
    tolerance: float
    source: str

    @property
    def within(self) -> bool:
        return bool(abs(self.reproduced - self.paper) <= self.tolerance)


def _loop_sweep(field_max: float = 9.0, step: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    k = int(round(field_max / step))
    field = np.r_[0 : k + 1, k - 1 : -k - 1 : -1, -k + 1 : k + 1] * step
    direction = np.r_[np.ones(k + 1), -np.ones(2 * k), np.ones(2 * k)]
    return field, direction


def field_loop_stack(
    sample: Sample, temperatures: np.ndarray, rng: np.random.Generator
) -> xr.Dataset:
    """Field loops 0 → +9 → −9 → +9 T of one sample, stacked over temperature."""
    field, direction = _loop_sweep()
    xx, xy = zip(
        *(field_loop_resistivities(sample, t, field, direction, rng) for t in temperatures),
        strict=True,
    )
    dims = ("temperature", "time")
    return xr.Dataset(
        {
            "field": ("time", field, {"units": "T", "quantity": "field"}),
            "rho_xx": (dims, np.stack(xx), {"units": "mohm*cm", "quantity": "rho_xx"}),
            "rho_xy": (dims, np.stack(xy), {"units": "uohm*cm", "quantity": "rho_xy"}),
        },
        coords={"temperature": ("temperature", temperatures, {"units": "K"})},
    )


def synthetic_preview(seed: int = 0) -> list[Comparison]:
    """Reduce synthetic C10/L6 data through the accessor and compare with the paper.

    Examples
    --------
    >>> from sloxide.report import synthetic_preview
    >>> rows = synthetic_preview(seed=0)
    >>> all(row.within for row in rows)
    True
    """
    rng = np.random.default_rng(seed)
    sample = SAMPLES["C10/L6"]
    temperatures = np.array([2.0, 5.0, 10.0, 15.0, 20.0])
    loops = field_loop_stack(sample, temperatures, rng)
    ahe = loops.sloxide.ahe()
    mr = loops.sloxide.mr()
    scaling = ahe.sloxide.ahe_scaling()
    t = np.arange(2.0, 151.0)
    m_s = saturation_magnetization(t)
    moment = 10.0 * m_s * (1 + 0.005 * rng.standard_normal(t.size))  # emu/cm^3, 0.5 % noise
    mt = xr.Dataset(
        {"moment": ("temperature", moment, {"units": "emu/cm^3"})},
        coords={"temperature": ("temperature", t, {"units": "K"})},
    )
    tc = mt.sloxide.curie_temperature()
    at2 = {"temperature": 2.0}
    return [
        Comparison("Δρ_AHE (2 K)", "µΩ·cm", 0.03, float(ahe.delta_rho_ahe.sel(at2)), 0.003, "[P]"),
        Comparison("µ0H_C (2 K)", "T", 0.97, float(ahe.coercive_field.sel(at2)), 0.03, "[P]"),
        Comparison("R0 (2 K)", "µΩ·cm/T", 0.02, float(ahe.R0.sel(at2)), 0.002, "[P] sign"),
        Comparison("MR (9 T, 2 K)", "%", -0.65, float(mr.mr_max_field.sel(at2)), 0.03, "[P]"),
        Comparison("σ_AH (2–20 K)", "S/cm", 0.199, float(scaling.sigma_ah), 0.01, "[D]"),
        Comparison("T_c (tangent)", "K", 75.0, float(tc.Tc), 2.0, "[P]"),
    ]


def format_table(rows: list[Comparison]) -> str:
    """A plain-text table: quantity | paper | reproduced | within tolerance.

    Examples
    --------
    >>> from sloxide.report import Comparison, format_table
    >>> print(format_table([Comparison("T_c", "K", 75.0, 75.6, 2.0, "[P]")]))
    quantity  units  paper  reproduced  ± tol  within  source
    T_c       K      75     75.6        2      yes     [P]
    """
    header = ("quantity", "units", "paper", "reproduced", "± tol", "within", "source")
    body = [
        (
            r.quantity,
            r.units,
            f"{r.paper:.4g}",
            f"{r.reproduced:.4g}",
            f"{r.tolerance:.2g}",
            "yes" if r.within else "NO",
            r.source,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *body)
    )
