"""The ``sloxide`` start-document context that every plan writes (DESIGN.md, "Data contract"),
and the checks that turn plan arguments into validated numbers before anything moves."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import SloxideError
from ..model.samples import HALL_BAR, SAMPLES
from ..units import difference, scalar_magnitude

__all__ = [
    "sample_context",
    "hall_bar_context",
    "start_metadata",
    "plot_hints",
    "check_range",
    "check_points",
    "check_positive",
    "temperature_steps",
    "as_number",
    "MAX_POINTS",
]

#: The most points one run may have. The paper's finest scans have a few thousand
#: (a 9 T loop in 0.02 T is 1,801); a step a thousand times too fine is a typo that
#: would otherwise run for days, or fail allocating the setpoints.
MAX_POINTS = 100_000


def sample_context(sample: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``sample`` entry: from the sample table for a known name, else as given.

    Examples
    --------
    >>> from sloxide.plans.context import sample_context
    >>> sample_context("C10/L6")["thickness_nm"]
    61.54
    >>> sample_context({"name": "my film", "thickness_nm": 12.0})["name"]
    'my film'
    """
    if sample is None:
        return {}
    if isinstance(sample, Mapping):
        return dict(sample)
    if not isinstance(sample, str):
        raise SloxideError(
            f"sample must be a name (str) or a mapping of its properties, got {sample!r}"
        )
    if sample in SAMPLES:
        s = SAMPLES[sample]
        return {
            "name": s.name,
            "n_CRO": s.n_cro,
            "m_LNO": s.m_lno,
            "repetitions": s.repetitions,
            "substrate": s.substrate,
            "thickness_nm": s.thickness_nm,
        }
    return {"name": str(sample)}


def hall_bar_context(
    current_uA: float, hall_sign: int = 1, *, geometry: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """The ``hall_bar`` entry: the geometry of PHYSICS.md §0 and the excitation in use.

    ``geometry`` (``width_um``, ``length_um``) replaces the default bar, e.g. with the
    one a device definition gives (the Quantum Design Hall bar has it as config).

    Examples
    --------
    >>> from sloxide.plans.context import hall_bar_context
    >>> hall_bar_context(100.0)["width_um"]
    200.0
    """
    if hall_sign not in (1, -1) or isinstance(hall_sign, bool):
        raise SloxideError(f"hall_sign must be +1 or -1 (the lead polarity), got {hall_sign!r}")
    entry = dataclasses.asdict(HALL_BAR)
    entry.update({str(key): float(value) for key, value in (geometry or {}).items()})
    entry["current_uA"] = float(current_uA)
    entry["hall_sign"] = int(hall_sign)
    return entry


def start_metadata(
    plan_name: str,
    plan_args: Mapping[str, Any],
    context: Mapping[str, Any],
    md: Mapping[str, Any] | None,
    hints: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """plan_name, plan_args, hints and the ``sloxide`` context, then the user's ``md`` last.

    Examples
    --------
    >>> from sloxide.plans.context import start_metadata
    >>> md = start_metadata("rt_sweep", {"step": 2.0}, {"measurement": "rt"}, {"operator": "me"})
    >>> md["plan_name"], md["sloxide"]["measurement"], md["operator"]
    ('rt_sweep', 'rt', 'me')
    """
    if md is not None and not isinstance(md, Mapping):
        raise SloxideError(f"md must be a dict of metadata (or None), got {md!r}")
    out: dict[str, Any] = {
        "plan_name": plan_name,
        "plan_args": dict(plan_args),
        "sloxide": dict(context),
    }
    if hints:
        out["hints"] = dict(hints)
    out.update(md or {})
    return out


def plot_hints(dimension: Sequence[Any], fields: Sequence[Any]) -> dict[str, Any]:
    """The start document's ``hints``: the scanned axis, and the measured values to watch.

    ``dimensions`` is Bluesky's standard hint: a live plot (``BestEffortCallback``)
    takes its first field as the x axis, and none of its fields as a y axis.
    ``fields`` is sloxide's: the data keys to plot against it (the devices hint
    their readbacks only; :class:`sloxide.callbacks.FollowPlanHints` reads it).

    Parameters
    ----------
    dimension : sequence of devices or signals
        The scanned axis first, then the axes held fixed (recorded, not plotted).
    fields : sequence of signals
        The measured values to plot against the scanned axis.

    Returns
    -------
    dict
        ``{"dimensions": [[keys, "primary"]], "fields": keys}``: each object's
        data key is its hinted field (the readback) or else its name.

    Examples
    --------
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans.context import plot_hints
    >>> lab = sim_lab(SimWorld())
    >>> hints = plot_hints([lab["cryostat"].field, lab["cryostat"].temperature],
    ...                    [lab["hallbar"].R_xx, lab["hallbar"].R_xy])
    >>> hints["dimensions"], hints["fields"]
    ([[['cryostat_field', 'cryostat_temperature'], 'primary']], ['hallbar_R_xx', 'hallbar_R_xy'])
    """

    def keys(obj: Any) -> list[str]:
        hinted = (getattr(obj, "hints", None) or {}).get("fields") or []
        return [str(key) for key in hinted] or [str(obj.name)]

    return {
        "dimensions": [[[key for obj in dimension for key in keys(obj)], "primary"]],
        "fields": [key for obj in fields for key in keys(obj)],
    }


def as_number(name: str, value: Any, units: str) -> float:
    """A plan argument as a float in ``units``: a bare number is taken as ``units``; a pint
    Quantity or a string such as ``"200 Oe"`` is converted; wrong units raise UnitsError.

    Examples
    --------
    >>> from sloxide.plans.context import as_number
    >>> as_number("field_max", "20 kOe", "T")
    2.0
    """
    try:
        number = scalar_magnitude(value, units, name)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SloxideError):
            raise
        raise SloxideError(f"{name} must be a number in {units}, got {value!r}") from None
    if not np.isfinite(number):
        raise SloxideError(f"{name} must be finite, got {value!r}")
    return number


def check_points(what: str, count: float) -> int:
    """``count`` as an int, or a SloxideError when a run would exceed :data:`MAX_POINTS`.

    Examples
    --------
    >>> from sloxide.plans.context import check_points
    >>> check_points("the field loop", 1801)
    1801
    """
    if not count <= MAX_POINTS:  # also refuses NaN
        raise SloxideError(
            f"{what} would take {count:.3g} points, more than {MAX_POINTS:,}; use a larger step"
        )
    return int(count)


def check_range(name: str, value: float, limits: tuple[float, float], units: str) -> float:
    """``value`` as a float, or a SloxideError naming the argument, its limits and units.

    Examples
    --------
    >>> from sloxide.plans.context import check_range
    >>> check_range("temperature", 2.0, (0.0, 400.0), "K")
    2.0
    """
    number = as_number(name, value, units)
    low, high = limits
    if not (low <= number <= high):
        raise SloxideError(
            f"{name} = {number!r} {units} is outside [{low}, {high}] {units}; nothing was moved"
        )
    return number


def check_positive(name: str, value: Any, units: str) -> float:
    """A size (a step, an amplitude) as a positive float in ``units``, or a SloxideError.

    Sizes are differences, so ``"5 degC"`` is refused instead of being read as the
    absolute 278.15 K (:func:`sloxide.units.difference`).

    Examples
    --------
    >>> from sloxide.plans.context import check_positive
    >>> check_positive("step", "500 mK", "K")
    0.5
    """
    number = as_number(name, value, difference(units))
    if number <= 0:
        raise SloxideError(f"{name} must be positive and finite, got {value!r} {units}")
    return number


def temperature_steps(start: float, stop: float, step: float) -> list[float]:
    """Setpoints from ``start`` towards ``stop`` in ``step`` (K), ``start`` included.

    Examples
    --------
    >>> from sloxide.plans.context import temperature_steps
    >>> temperature_steps(100.0, 90.0, 5.0)
    [100.0, 95.0, 90.0]
    """
    span = abs(stop - start)
    if span == 0:
        raise SloxideError(
            f"start and stop are both {start:g} K: a sweep needs two different temperatures"
        )
    if not step <= span + 1e-9:
        raise SloxideError(
            f"a sweep from {start:g} K to {stop:g} K in steps of {step:g} K measures one "
            f"point only; use a step of at most {span:g} K, or a wider sweep"
        )
    n = check_points("the temperature sweep", np.floor(abs(stop - start) / step + 1e-9) + 1)
    return [float(v) for v in start + np.sign(stop - start) * step * np.arange(n)]
