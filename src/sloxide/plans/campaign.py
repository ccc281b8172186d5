# mypy: disable-error-code="attr-defined,arg-type,list-item"
# The queueserver needs bluesky protocol hints (Readable, Movable) on device arguments;
# the plans then use the instruments' components, which the protocols do not declare, and
# bluesky types list_scan's motor/positions varargs as tuples.
"""The paper's measurement campaign for one sample.

One plan runs what the paper measured on a sample (Figs. 1–5): R(T), field loops,
field-cooled M(T), AMR rotations and XLD pairs. Every measurement and its step can be
chosen, so ``sloxide demo`` runs this plan with a schedule sized to minutes, and a
scientist runs it with the paper's steps from IPython or the queueserver.
"""

# No `from __future__ import annotations`: the queueserver reads the hints as objects.
from collections.abc import Generator, Sequence
from typing import Any

from bluesky.protocols import Movable, Readable
from bluesky.utils import Msg

from ..errors import SloxideError
from ..model.samples import SAMPLES
from ..model.spectra import EDGES
from .context import check_positive, check_range
from .magnetometry import fc_magnetization
from .magnetotransport import PLANES, amr_rotation, field_loop, rt_sweep
from .xas import _validate, xld_scan

__all__ = ["campaign", "LOOP_TEMPERATURES", "ROTATIONS"]

#: Field-loop temperatures (K): the AHE scaling range 2–20 K and the decay above it.
LOOP_TEMPERATURES = (2.0, 5.0, 10.0, 15.0, 20.0, 50.0, 100.0)

#: AMR rotations (plane, temperature in K): the (001) plane at 5 K and the (010) plane
#: below and above the 5–20 K sign change of the paper's Fig. 5.
ROTATIONS = (("(001)", 5.0), ("(010)", 5.0), ("(010)", 20.0))


def _temperatures(name: str, values: Sequence[float], cryostat: Any) -> tuple[float, ...]:
    limits = cryostat.temperature.limits
    return tuple(check_range(name, t, limits, "K") for t in values)


def _rotations(rotations: Sequence[Sequence[Any]], cryostat: Any) -> tuple[tuple[str, float], ...]:
    checked = []
    for entry in rotations:
        if len(entry) != 2 or entry[0] not in PLANES:
            raise SloxideError(
                f"each rotation is (plane, temperature in K) with plane one of {PLANES}, "
                f"got {entry!r}"
            )
        checked.append(
            (str(entry[0]), *_temperatures("rotation temperature", entry[1:], cryostat))
        )
    return tuple(checked)


def campaign(
    hallbar: Readable,
    cryostat: Movable,
    rotator: Movable,
    beamline: Movable,
    *,
    sample: str = "C10/L6",
    quick: bool = False,
    rt: bool = True,
    loop_temperatures: Sequence[float] | None = None,
    fc: bool | None = None,
    rotations: Sequence[Sequence[Any]] | None = None,
    edges: Sequence[str] | None = None,
    rt_step: float | None = None,
    loop_step: float | None = None,
    rotation_step: float | None = None,
    energy_step: float | None = None,
    md: dict | None = None,
) -> Generator[Msg, Any, Any]:
    """R(T), field loops, FC M(T), AMR rotations and XLD pairs of one sample.

    Every argument is checked before anything moves, so a wrong edge or temperature
    fails at once, not hours into the campaign.

    Parameters
    ----------
    hallbar, cryostat, rotator, beamline
        The instruments.
    sample : str, default "C10/L6"
        The mounted sample (recorded in every run).
    quick : bool, default False
        Coarser default steps and fewer loop temperatures, for a fast run.
    rt : bool, default True
        Measure R(T) from 300 K down.
    loop_temperatures : sequence of float, optional
        Field-loop temperatures in K; default :data:`LOOP_TEMPERATURES` (2, 10 and
        20 K with ``quick``), only the first for a sample that is not ferromagnetic.
        Empty for none.
    fc : bool, optional
        Measure the field-cooled M(T); default for a ferromagnetic sample.
    rotations : sequence of (plane, temperature), optional
        AMR rotations, plane "(001)" or "(010)" and temperature in K; default
        :data:`ROTATIONS`. Empty for none.
    edges : sequence of str, optional
        Edges of the XLD pairs (:data:`sloxide.model.spectra.EDGES`); default
        "Ni L2" for a sample with nickel, and "O K". Empty for none.
    rt_step, loop_step, rotation_step, energy_step : float, optional
        Steps in K, T, deg and eV; defaults 2 K, 0.02 T, 5° and the edge's own
        (10 K, 0.05 T, 10° and 0.2 eV with ``quick``).
    md : dict, optional
        Merged into every run.

    Yields
    ------
    Msg
        One run per measurement, two per XLD pair.

    Raises
    ------
    SloxideError
        For an argument out of the instruments' limits or unknown, before any move.

    Examples
    --------
    >>> from bluesky import RunEngine
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import campaign
    >>> lab = sim_lab(SimWorld(sample="C2/L2"))
    >>> instruments = [lab[name] for name in ("hallbar", "cryostat", "rotator", "beamline")]
    >>> uids = RunEngine({})(campaign(*instruments, sample="C2/L2", rt=False,
    ...     loop_temperatures=(), fc=False, rotations=(), edges=("O K",), energy_step=1.0))
    >>> len(uids)  # one XLD pair
    2
    >>> RunEngine({})(campaign(*instruments, edges=("Cu L3",)))
    Traceback (most recent call last):
    ...
    sloxide.errors.SloxideError: unknown edge 'Cu L3'; edges are ['Ni L2', 'O K', 'Ru M']
    """
    info = SAMPLES.get(sample)
    ferromagnetic = info is None or info.ferromagnetic
    if loop_temperatures is None:
        loop_temperatures = (2.0, 10.0, 20.0) if quick else LOOP_TEMPERATURES
        loop_temperatures = loop_temperatures if ferromagnetic else loop_temperatures[:1]
    if edges is None:
        edges = ("Ni L2", "O K") if info is None or info.has_nickel else ("O K",)
    loops = _temperatures("loop temperature", loop_temperatures, cryostat)
    turns = _rotations(ROTATIONS if rotations is None else rotations, cryostat)
    unknown = [edge for edge in edges if edge not in EDGES]
    if unknown:
        raise SloxideError(f"unknown edge {unknown[0]!r}; edges are {sorted(EDGES)}")
    steps = {
        "rt_step": (rt_step, 10.0 if quick else 2.0, "K"),
        "loop_step": (loop_step, 0.05 if quick else 0.02, "T"),
        "rotation_step": (rotation_step, 10.0 if quick else 5.0, "deg"),
    }
    rt_dt, loop_dh, turn_da = (
        check_positive(name, default if value is None else value, units)
        for name, (value, default, units) in steps.items()
    )
    if energy_step is None and quick:
        energy_step = 0.2
    regions = {
        edge: None
        if energy_step is None
        else (
            EDGES[edge].start_eV,
            check_positive("energy_step", energy_step, "eV"),
            EDGES[edge].stop_eV,
        )
        for edge in edges
    }
    for edge in edges:
        for angle in (90.0, 30.0):
            _validate(beamline, edge, regions[edge], angle)

    if rt:
        yield from rt_sweep(hallbar, cryostat, step=rt_dt, sample=sample, md=md)
    for t in loops:
        yield from field_loop(hallbar, cryostat, temperature=t, step=loop_dh, sample=sample, md=md)
    if ferromagnetic if fc is None else fc:
        yield from fc_magnetization(cryostat, step=2.0 if quick else 1.0, sample=sample, md=md)
    for plane, t in turns:
        yield from amr_rotation(
            hallbar, cryostat, rotator, temperature=t, plane=plane, step=turn_da,
            sample=sample, md=md,
        )  # fmt: skip
    for edge in edges:
        yield from xld_scan(beamline, edge=edge, regions=regions[edge], sample=sample, md=md)
