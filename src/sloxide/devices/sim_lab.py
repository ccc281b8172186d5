"""The simulated lab: the four Sim instruments bound to one SimWorld.

>>> from sloxide.devices.sim_lab import sim_lab
>>> from sloxide.simulation.world import SimWorld
>>> lab = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))
>>> sorted(lab)
['beamline', 'cryostat', 'hallbar', 'rotator']
"""

from __future__ import annotations

from typing import Any

from ..simulation.world import SimWorld
from .beamline import SimBeamline
from .cryostat import SimCryostat
from .hallbar import SimHallBar
from .rotator import SimRotator

__all__ = ["sim_lab"]


def sim_lab(world: SimWorld) -> dict[str, Any]:
    """The four simulated instruments bound to ``world``, named as DESIGN.md fixes.

    Returns
    -------
    dict
        ``{"cryostat": SimCryostat, "hallbar": SimHallBar, "rotator": SimRotator,
        "beamline": SimBeamline}``.

    Examples
    --------
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> lab = sim_lab(SimWorld(sample="C10/L6"))
    >>> lab["hallbar"].trigger().wait(1)
    >>> round(lab["hallbar"].R_xx.get())  # C10/L6 at 300 K: 0.60 mΩ·cm on the 200 × 1200 µm bar
    585
    """
    return {
        "cryostat": SimCryostat(name="cryostat", world=world),
        "hallbar": SimHallBar(name="hallbar", world=world),
        "rotator": SimRotator(name="rotator", world=world),
        "beamline": SimBeamline(name="beamline", world=world),
    }
