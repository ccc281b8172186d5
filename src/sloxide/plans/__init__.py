"""Bluesky plans of the paper's measurements: queueserver-ready generator functions.

Every plan validates all arguments before anything moves, writes the ``sloxide``
start-document context of DESIGN.md, and restores the instrument state in a
``finalize_wrapper``. Needs the ``acquire`` extra.
"""

from .campaign import campaign
from .magnetometry import fc_magnetization
from .magnetotransport import amr_rotation, field_loop, rt_sweep
from .xas import energy_points, xas_scan, xld_scan

__all__ = [
    "rt_sweep",
    "field_loop",
    "fc_magnetization",
    "amr_rotation",
    "xas_scan",
    "xld_scan",
    "campaign",
    "energy_points",
]
