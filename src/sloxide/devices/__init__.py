"""ophyd devices of the transport lab and the soft X-ray beamline.

Each instrument has a base class (component names, kinds, units, logic), an
``Epics…`` subclass (PV suffixes) and a ``Sim…`` subclass bound to a
:class:`~sloxide.simulation.world.SimWorld`. Needs the ``acquire`` extra.
"""

try:
    import ophyd  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "sloxide.devices needs ophyd and bluesky: pip install 'sloxide[acquire]'"
    ) from exc
