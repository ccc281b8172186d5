"""The simulated lab, as DESIGN.md imports it: ``from sloxide.devices.sim import SimWorld, sim_lab``.

Nothing is defined here; this is the documented entry point that gathers the pieces:

* :class:`~sloxide.simulation.world.SimWorld`, :data:`FAULTS` and :data:`AXES` live in
  :mod:`sloxide.simulation.world` (no ophyd);
* :func:`~sloxide.devices.sim_lab.sim_lab` lives in :mod:`sloxide.devices.sim_lab`;
* the helpers every Sim device shares live in :mod:`sloxide.devices.sim_binding`.

No device module imports this one, so it can import them all without a cycle.

>>> from sloxide.devices.sim import SimWorld, sim_lab
>>> world = SimWorld(sample="C10/L6", mode="instant", seed=0)
>>> lab = sim_lab(world)
>>> sorted(lab)
['beamline', 'cryostat', 'hallbar', 'rotator']
"""

from __future__ import annotations

from ..simulation.world import AXES, FAULTS, SimWorld
from .sim_lab import sim_lab

__all__ = ["SimWorld", "sim_lab", "FAULTS", "AXES"]
