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
an ``xas`` pair          :data:`PAIR_REDUCTIONS` of the edge (``xld``; at Ni L2 also
                         ``orbital_polarization`` and ``ni_valence``) on spectra
                         normalized with :data:`NORMALIZATION` for the edge
======================== ==========================================================

A temperature series of field loops also gives ``ahe_scaling`` (σ_AH over 2–20 K,
the paper's Fig. 3 range), through :func:`reduce_loop_series`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import xarray as xr

from .errors import SloxideError

__all__ = [
    "Reduction",
    "Result",
    "Job",
    "expected_results",
    "jobs_from_starts",
    "read_job",
    "reduce_job",
    "run_job",
    "REDUCTIONS",
    "PAIR_REDUCTIONS",
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

#: Reductions of an XLD pair by edge, on the normalized pair; an edge not listed gets
#: the XLD alone. The orbital polarization and the two-Gaussian valence fit are Ni L2
#: analyses (PHYSICS.md §4; the paper's Figs. 3b and 4b).
PAIR_REDUCTIONS: dict[str, tuple[Reduction, ...]] = {
    "Ni L2": (Reduction("xld"), Reduction("orbital_polarization"), Reduction("ni_valence")),
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


def _pair_reductions(edge: str | None) -> tuple[Reduction, ...]:
    return PAIR_REDUCTIONS.get(edge or "", (Reduction("xld"),))


def reduce_xas_pair(pair: xr.Dataset) -> list[Result]:
    """The :data:`PAIR_REDUCTIONS` of an XLD pair read with ``read_runs``.

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
    >>> xld, polarization, valence = reduce_xas_pair(pair)
    >>> xld.method, round(float(polarization.data.P), 2)  # PHYSICS.md: P = 0.19 for C2/L2
    ('xld', 0.19)
    >>> round(float(valence.data.ratio), 3)  # the paper's Fig. 3b: 0.42 for C2/L2
    0.426
    """
    edge = _xas_edge(pair)
    normalization = NORMALIZATION.get(edge, {})
    normalized = xr.Dataset({"norm": pair.sloxide.normalize_xas(**normalization).norm})
    return [
        Result(step.method, {**step.parameters, "normalize_xas": normalization},
               step(normalized))
        for step in _pair_reductions(edge)
    ]  # fmt: skip


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


# ------------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """One unit of reduction work: a run, an XLD pair or a loop series.

    Live reduction, ``sloxide reduce`` and the demo all make jobs with
    :func:`jobs_from_starts` and reduce them with :func:`run_job` (or
    :func:`read_job` then :func:`reduce_job`), so a result is the same whichever
    path made it.
    """

    kind: str  # "run", "pair" or "series"
    uids: tuple[str, ...]
    measurement: str
    sample: str
    expected: tuple[tuple[str, str], ...]  # (method, JSON of parameters) it stores

    @property
    def label(self) -> str:
        """A short label for progress bars and logs."""
        return f"{self.kind} {self.measurement} {self.sample} [{self.uids[0][:8]}]"


def expected_results(
    measurement: str, kind: str, edge: str | None = None
) -> tuple[tuple[str, str], ...]:
    """The (method, JSON of parameters) of every result a job of this kind stores.

    Examples
    --------
    >>> from sloxide.reduction import expected_results
    >>> expected_results("field_loop", "run")
    (('ahe', '{}'), ('mr', '{}'))
    >>> [method for method, _ in expected_results("xas", "pair", "Ni L2")]
    ['xld', 'orbital_polarization', 'ni_valence']
    """

    def entry(method: str, parameters: Mapping[str, Any]) -> tuple[str, str]:
        return method, json.dumps(dict(parameters), sort_keys=True)

    if kind == "series":
        return (entry("ahe_scaling", {"max_temperature_K": SCALING_MAX_TEMPERATURE_K}),)
    if kind == "pair":
        normalization = {"normalize_xas": NORMALIZATION.get(edge or "", {})}
        return tuple(
            entry(r.method, {**dict(r.parameters), **normalization})
            for r in _pair_reductions(edge)
        )
    return tuple(entry(r.method, dict(r.parameters)) for r in REDUCTIONS.get(measurement, ()))


def jobs_from_starts(starts: Sequence[Mapping[str, Any]]) -> list[Job]:
    """The jobs that the runs of these start documents make, the one grouping rule.

    Each run whose measurement is in :data:`REDUCTIONS` is a job; the two XAS runs
    sharing a ``group_uid`` are one XLD-pair job; field loops of one sample, grid and
    field range at three or more temperatures up to :data:`SCALING_MAX_TEMPERATURE_K`
    are a series job (the latest loop per temperature). Runs are taken in time order.

    Examples
    --------
    >>> from sloxide.reduction import jobs_from_starts
    >>> xas = {"measurement": "xas", "sample": {"name": "C2/L2"},
    ...        "xas": {"edge": "Ni L2", "group_uid": "g"}}
    >>> starts = [{"uid": "a", "time": 1.0, "sloxide": xas},
    ...           {"uid": "b", "time": 2.0, "sloxide": xas},
    ...           {"uid": "c", "time": 3.0, "sloxide": {"measurement": "rt"}}]
    >>> [(job.kind, job.uids) for job in jobs_from_starts(starts)]
    [('run', ('c',)), ('pair', ('a', 'b'))]
    """
    jobs: list[Job] = []
    pairs: dict[str, list[Mapping[str, Any]]] = {}
    series: dict[tuple[Any, ...], dict[float, Mapping[str, Any]]] = {}
    for start in sorted(starts, key=lambda s: s.get("time", 0.0)):
        context = start["sloxide"]
        measurement = str(context.get("measurement"))
        sample = str(context.get("sample", {}).get("name", ""))
        if measurement == "xas":
            group = context.get("xas", {}).get("group_uid")
            if group:
                pairs.setdefault(group, []).append(start)
            continue
        if measurement in REDUCTIONS:
            uids = (start["uid"],)
            jobs.append(
                Job("run", uids, measurement, sample, expected_results(measurement, "run"))
            )
        if measurement == "field_loop":
            points = context.get("setpoints", {})
            loop_kind = (sample, points.get("field_max_T"), points.get("field_step_T"))
            temperature = float(points.get("temperature_K", float("nan")))
            if temperature <= SCALING_MAX_TEMPERATURE_K:
                series.setdefault(loop_kind, {})[temperature] = start
    for members in pairs.values():
        if len(members) == 2:
            context = members[0]["sloxide"]
            edge = context.get("xas", {}).get("edge")
            sample = str(context.get("sample", {}).get("name", ""))
            uids = tuple(m["uid"] for m in members)
            jobs.append(Job("pair", uids, "xas", sample, expected_results("xas", "pair", edge)))
    for (sample, _, _), loops in series.items():
        if len(loops) >= 3:
            uids = tuple(loops[t]["uid"] for t in sorted(loops))
            expected = expected_results("field_loop", "series")
            jobs.append(Job("series", uids, "field_loop", sample, expected))
    return jobs


def read_job(catalog: Any, job: Job, runs: Mapping[str, xr.Dataset] | None = None) -> xr.Dataset:
    """A job's runs read back with units: one run, a pair on ``incidence_angle``, or a
    series of loops on ``temperature``.

    ``runs`` holds runs read already, by uid (:func:`sloxide.io.read_many` reads many
    jobs' runs in a few requests); a run not in it is read from ``catalog``.

    Examples
    --------
    >>> import tempfile
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import xld_scan
    >>> from sloxide.reduction import jobs_from_starts, read_job
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> uids = RE(xld_scan(sim_lab(SimWorld(sample="C2/L2"))["beamline"],
    ...                    regions=(866.0, 0.5, 876.0), sample="C2/L2"))
    >>> (job,) = jobs_from_starts([catalog[uid].metadata["start"] for uid in uids])
    >>> job.kind, read_job(catalog, job).incidence_angle.values.tolist()
    ('pair', [90.0, 30.0])
    """
    from .io import read_run, read_runs

    given = runs or {}
    members = [given.get(uid, uid) for uid in job.uids]
    if job.kind == "pair":
        return read_runs(members, along="xas.incidence_angle_deg", catalog=catalog)
    if job.kind == "series":
        return read_runs(members, along="setpoints.temperature_K", catalog=catalog)
    if job.uids[0] in given:
        return given[job.uids[0]]
    return read_run(job.uids[0], catalog=catalog)


def reduce_job(job: Job, data: xr.Dataset) -> list[Result]:
    """Reduce what :func:`read_job` read for ``job``, by its kind.

    Examples
    --------
    A run whose measurement the table does not reduce gives no result:

    >>> import xarray as xr
    >>> from sloxide.reduction import Job, reduce_job
    >>> job = Job("run", ("a-uid",), "xas", "C2/L2", ())
    >>> reduce_job(job, xr.Dataset(attrs={"sloxide": {"measurement": "xas"}}))
    []
    """
    if job.kind == "pair":
        return reduce_xas_pair(data)
    if job.kind == "series":
        return reduce_loop_series(data)
    return reduce_run(data)


def run_job(catalog: Any, job: Job) -> list[Result]:
    """Read a job's runs and reduce them; nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import rt_sweep
    >>> from sloxide.reduction import jobs_from_starts, run_job
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> lab = sim_lab(SimWorld())
    >>> uid, = RE(rt_sweep(lab["hallbar"], lab["cryostat"], start=300, stop=200, step=50,
    ...                    sample="C10/L6"))
    >>> (job,) = jobs_from_starts([catalog[uid].metadata["start"]])
    >>> [result.method for result in run_job(catalog, job)]
    ['resistivity']
    """
    return reduce_job(job, read_job(catalog, job))
