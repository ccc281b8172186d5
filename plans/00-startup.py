"""The sloxide startup profile, loaded by IPython and by the Bluesky queueserver.

IPython::

    ipython -i plans/00-startup.py          # or, in a session: %run -i plans/00-startup.py

Queueserver (redis running; see docs/deployment.md)::

    start-re-manager --startup-dir plans/ \\
        --existing-plans-devices plans/existing_plans_and_devices.yaml \\
        --user-group-permissions plans/user_group_permissions.yaml

It makes a RunEngine that writes every run to the catalog, the devices of one
definition file in ``devices/``, the suspenders for those instruments, and the
sloxide plans with the standard bluesky plans. Two environment variables choose:

``SLOXIDE_DEVICES``
    A definition file: a name in ``devices/`` (``sim-lab``, the default;
    ``epics-transport-lab``; ``epics-beamline``) or a path to a ``.toml`` file.
``SLOXIDE_CATALOG``
    The catalog: a directory (embedded Tiled catalog) or a Tiled server URL with
    ``TILED_API_KEY`` set; default, the embedded catalog in the user data directory.
``SLOXIDE_LIVE``
    ``1`` (default) reduces every finished run as it ends and stores the results
    (:class:`sloxide.callbacks.LiveReduction`); ``0`` turns that off.
``SLOXIDE_LIVE_DRAIN_TIMEOUT``
    Seconds the session's exit waits for the reductions still queued (default
    30). Runs left then are noted as not reduced on the run in the catalog, and
    ``sloxide reduce`` reduces them later; the interpreter always exits.
``SLOXIDE_FEEDBACK``
    ``1``: a live table, live plots (bluesky's ``BestEffortCallback``, as
    ``bec``) and progress bars for moves; ``0``: none; unset or ``auto``: only
    in an interactive IPython or Jupyter session, never in the queueserver.

After editing the plans or devices here, regenerate the queueserver's list (CI
fails when it is stale)::

    qserver-list-plans-devices --startup-dir plans --file-dir plans \\
        --file-name existing_plans_and_devices.yaml
"""

import os
from pathlib import Path

from bluesky import RunEngine
from bluesky.plan_stubs import mv, mvr, rd, sleep  # noqa: F401  (plans users may call)
from bluesky.plans import count, grid_scan, list_scan, rel_scan, scan  # noqa: F401

from sloxide.callbacks import DRAIN_TIMEOUT_S, LiveReduction, feedback_wanted, install_feedback
from sloxide.catalog import open_catalog, subscribe
from sloxide.devices.definitions import load_devices
from sloxide.errors import SloxideError
from sloxide.plans import (  # noqa: F401  (the plans the queueserver exposes)
    amr_rotation,
    campaign,
    fc_magnetization,
    field_loop,
    rt_sweep,
    xas_scan,
    xld_scan,
)
from sloxide.plans.suspenders import install_suspenders


def _definition_file(choice: str) -> Path:
    """A name in devices/ or a path."""
    if choice.endswith(".toml") or os.sep in choice:
        return Path(choice).expanduser()
    return Path(__file__).resolve().parent.parent / "devices" / f"{choice}.toml"


def _seconds(variable: str, default: float) -> float:
    """A non-negative number of seconds from the environment."""
    text = os.environ.get(variable, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise SloxideError(f"{variable}={text!r} must be a number of seconds ≥ 0, e.g. 30")
    return value


# The environment is checked before anything slow (opening the catalog takes seconds).
_drain_timeout = _seconds("SLOXIDE_LIVE_DRAIN_TIMEOUT", DRAIN_TIMEOUT_S)
_feedback = feedback_wanted()  # SLOXIDE_FEEDBACK, else: is a person at the prompt?

RE = RunEngine({})
catalog = open_catalog(os.environ.get("SLOXIDE_CATALOG") or None, create=True)
subscribe(RE, catalog)
if os.environ.get("SLOXIDE_LIVE", "1") != "0":
    # One line of results per run; live.results, live.errors. Created after the catalog's
    # client, so that at exit it finishes (or notes) its reductions before the client closes.
    live = LiveReduction(catalog, drain_timeout=_drain_timeout)
    RE.subscribe(live)
bec = install_feedback(RE, enabled=_feedback)  # None unless interactive (or SLOXIDE_FEEDBACK=1)

devices = load_devices(
    _definition_file(os.environ.get("SLOXIDE_DEVICES", "sim-lab")),
    connect=True,
    timeout=float(os.environ.get("SLOXIDE_CONNECT_TIMEOUT", "10")),
)
globals().update(devices)  # cryostat, hallbar, rotator, beamline: names the plans take
install_suspenders(RE, devices)
