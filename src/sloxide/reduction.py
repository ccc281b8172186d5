"""What each measurement reduces to, and with which parameters.

One table, shared by the live callback (:mod:`sloxide.callbacks`) and batch
reduction (``sloxide reduce``), so a result is the same whichever made it, and
equal to calling the accessor on :func:`sloxide.io.read_run` by hand:

======================== ==========================================================
measurement              reductions (accessor methods)
======================== ==========================================================
``rt``                   ``resistivity``
``field_loop``           ``ahe``, ``mr``
``fc_magnetization``     ``curie_temperature`` (its default fits the substrate background)
``amr``                  ``amr_harmonics``
``mh_loop``              ``hysteresis`` (an M(H) loop imported from a MultiVu file)
``mt``                   ``curie_temperature`` (a warming M(T) imported from a file)
an ``xas`` pair          ``xld`` (and ``orbital_polarization`` at Ni L2) on spectra
                         normalized with :data:`NORMALIZATION` for the edge
======================== ==========================================================

A temperature series of field loops also gives ``ahe_scaling`` (σ_AH over 2–20 K,
the paper's Fig. 3 range), through :func:`reduce_loop_series`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import xarray as xr

from .errors import SloxideError

__all__ = [
    "Reduction",
    "Result",
    "group_uids",
    "REDUCTIONS",
    "NORMALIZATION",
    "SCALING_MAX_TEMPERATURE_K",
    "reductions_for",
    "reduce_run",
    "reduce_xas_pair",
    "reduce_loop_series",
]


@dataclass(frozen=True)
class Reduction:
    """One accessor method and the keyword arguments it is called with."""

    method: str
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, ds: xr.Dataset) -> xr.Dataset:
        return getattr(ds.sloxide, self.method)(**self.parameters)


class Result(NamedTuple):
    """A reduction's output and what made it, as stored with the result."""

    method: str
    parameters: Mapping[str, Any]
    data: xr.Dataset


#: Per-run reductions by ``sloxide.measurement``, each with the accessor's defaults,
#: which are right on the raw run (the Curie fit subtracts the substrate by itself).
REDUCTIONS: dict[str, tuple[Reduction, ...]] = {
    "rt": (Reduction("resistivity"),),
    "field_loop": (Reduction("ahe"), Reduction("mr")),
    "fc_magnetization": (Reduction("curie_temperature"),),
    "amr": (Reduction("amr_harmonics"),),
    # Imported from MultiVu files (sloxide.multivu): M(H) loops and warming M(T).
    "mh_loop": (Reduction("hysteresis"),),
    "mt": (Reduction("curie_temperature"),),
}

#: larch ``pre_edge`` parameters (eV relative to e0) per edge, as in the paper's analysis
#: (PHYSICS.md §4); an edge not listed uses larch's defaults.
NORMALIZATION: dict[str, dict[str, float]] = {
    "Ni L2": {"e0": 870.0, "pre1": -8.0, "pre2": -3.0, "norm1": 9.0, "norm2": 15.0},
    "O K": {"e0": 532.0, "pre1": -10.0, "pre2": -5.0, "norm1": 12.0, "norm2": 18.0},
}

#: The AHE scaling uses the loops up to this temperature (the paper's 2–20 K).
SCALING_MAX_TEMPERATURE_K = 20.0


def reductions_for(context: Mapping[str, Any]) -> tuple[Reduction, ...]:
    """The per-run reductions of a run's ``sloxide`` context (none for XAS: see pairs).

    Examples
    --------
    >>> from sloxide.reduction import reductions_for
    >>> [r.method for r in reductions_for({"measurement": "field_loop"})]
    ['ahe', 'mr']
    >>> reductions_for({"measurement": "xas"})
    ()
    """
    return REDUCTIONS.get(str(context.get("measurement")), ())


def reduce_run(ds: xr.Dataset) -> list[Result]:
    """Every per-run reduction of one run read with :func:`sloxide.io.read_run`.

    Returns
    -------
    list of Result

    Raises
    ------
    SloxideError
        From the accessor, for data it cannot reduce.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.reduction import reduce_run
    >>> reduce_run(xr.Dataset(attrs={"sloxide": {"measurement": "xas"}}))
    []
    """
    return [
        Result(r.method, dict(r.parameters), r(ds))
        for r in reductions_for(ds.attrs.get("sloxide", {}))
    ]


def _xas_edge(pair: xr.Dataset) -> str:
    edge = pair.attrs.get("sloxide", {}).get("xas", {}).get("edge")
    if not isinstance(edge, str):
        raise SloxideError("the XAS runs carry no edge in their context (sloxide.xas.edge)")
    return edge


def reduce_xas_pair(pair: xr.Dataset) -> list[Result]:
    """XLD (and orbital polarization at Ni L2) of an XLD pair read with ``read_runs``.

    ``pair`` is what ``read_runs(uids, along="xas.incidence_angle_deg")`` returns.

    Returns
    -------
    list of Result
        Their parameters include the normalization.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sloxide.model.spectra import tey
    >>> from sloxide.reduction import reduce_xas_pair
    >>> e = np.arange(862.0, 885.0, 0.1)
    >>> spectra = [tey("C2/L2", e, angle, "Ni L2") for angle in (90.0, 30.0)]
    >>> pair = xr.Dataset(
    ...     {"tey": (("incidence_angle", "energy"), np.stack(spectra), {"units": "pA"})},
    ...     coords={"incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"}),
    ...             "energy": ("energy", e, {"units": "eV"})},
    ...     attrs={"sloxide": {"measurement": "xas", "xas": {"edge": "Ni L2"}}})
    >>> xld, polarization = reduce_xas_pair(pair)
    >>> xld.method, round(float(polarization.data.P), 2)  # PHYSICS.md: P = 0.19 for C2/L2
    ('xld', 0.19)
    """
    edge = _xas_edge(pair)
    normalization = NORMALIZATION.get(edge, {})
    normalized = xr.Dataset({"norm": pair.sloxide.normalize_xas(**normalization).norm})
    steps = [Reduction("xld")]
    if edge == "Ni L2":
        steps.append(Reduction("orbital_polarization"))
    return [
        Result(step.method, {**step.parameters, "normalize_xas": normalization}, step(normalized))
        for step in steps
    ]


def reduce_loop_series(loops: xr.Dataset) -> list[Result]:
    """σ_AH scaling of field loops stacked along ``temperature`` (``read_runs``).

    Uses the loops up to :data:`SCALING_MAX_TEMPERATURE_K`; at least three are needed.

    Raises
    ------
    SloxideError
        With fewer than three loops in range.

    Examples
    --------
    >>> import tempfile
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.io import read_runs
    >>> from sloxide.plans import field_loop
    >>> from sloxide.reduction import reduce_loop_series
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> lab = sim_lab(SimWorld(sample="C10/L6"))
    >>> uids = [RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=t, field_max=6.0,
    ...                       step=0.1, sample="C10/L6"))[0] for t in (2.0, 5.0, 10.0, 15.0, 20.0)]
    >>> (scaling,) = reduce_loop_series(read_runs(uids, along="setpoints.temperature_K",
    ...                                           catalog=catalog))
    >>> scaling.method, float(scaling.data.sigma_ah) > 0
    ('ahe_scaling', True)
    """
    low = loops.sel(temperature=loops.temperature[loops.temperature <= SCALING_MAX_TEMPERATURE_K])
    if low.sizes["temperature"] < 3:
        raise SloxideError(
            f"the AHE scaling needs at least 3 field loops at or below "
            f"{SCALING_MAX_TEMPERATURE_K:g} K, got {low.sizes['temperature']}"
        )
    parameters = {"max_temperature_K": SCALING_MAX_TEMPERATURE_K}
    return [Result("ahe_scaling", parameters, low.sloxide.ahe().sloxide.ahe_scaling())]


def group_uids(starts: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """XLD pairs among start documents: group_uid -> the run uids, in order.

    Examples
    --------
    >>> from sloxide.reduction import group_uids
    >>> starts = [{"uid": "a", "sloxide": {"measurement": "xas", "xas": {"group_uid": "g"}}},
    ...           {"uid": "b", "sloxide": {"measurement": "xas", "xas": {"group_uid": "g"}}}]
    >>> group_uids(starts)
    {'g': ['a', 'b']}
    """
    groups: dict[str, list[str]] = {}
    for start in starts:
        context = start.get("sloxide", {})
        group = context.get("xas", {}).get("group_uid") if context.get("measurement") else None
        if context.get("measurement") == "xas" and group:
            groups.setdefault(group, []).append(start["uid"])
    return groups
