"""The campaign plan: every measurement chosen by argument, every argument checked first."""

from __future__ import annotations

import pytest
from bluesky import RunEngine

from sloxide.devices.sim import SimWorld, sim_lab
from sloxide.errors import SloxideError
from sloxide.plans import campaign

NOTHING = {"rt": False, "loop_temperatures": (), "fc": False, "rotations": (), "edges": ()}


@pytest.fixture
def lab():
    world = SimWorld(sample="C10/L2", seed=0)
    lab = sim_lab(world)
    return world, [lab[n] for n in ("hallbar", "cryostat", "rotator", "beamline")]


def _plans(RE):
    names = []
    RE.subscribe(lambda name, doc: names.append(doc["plan_name"]) if name == "start" else None)
    return names


def test_each_measurement_is_run_as_asked(lab):
    _, instruments = lab
    RE = RunEngine({})
    names = _plans(RE)
    arguments = {**NOTHING, "loop_temperatures": (2.0, 20.0), "rotations": (("(010)", 20.0),),
                 "loop_step": 1.0, "rotation_step": 60.0}  # fmt: skip
    uids = RE(campaign(*instruments, sample="C10/L2", **arguments))
    assert names == ["field_loop", "field_loop", "amr_rotation"] and len(uids) == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"edges": ("Ni L2", "Cu L3")}, "unknown edge 'Cu L3'"),
        ({"rotations": (("(100)", 5.0),)}, "plane one of"),
        ({"rotations": ((5.0,),)}, "(plane, temperature in K)"),
        ({"loop_temperatures": (2.0, 900.0)}, "loop temperature"),
        ({"loop_step": -0.1}, "loop_step"),
        ({"energy_step": 0.0}, "energy_step"),
    ],
)
def test_a_bad_argument_anywhere_fails_before_anything_moves(lab, arguments, message):
    # The XLD pairs come last: their edge is checked before the R(T) cools anything.
    _, instruments = lab
    RE = RunEngine({})
    names = _plans(RE)
    commands = []
    RE.msg_hook = lambda msg: commands.append(msg.command)
    with pytest.raises(SloxideError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RE(campaign(*instruments, sample="C10/L2", **arguments))
    assert names == []  # no run was opened
    assert "set" not in commands and "open_run" not in commands  # nothing was moved
