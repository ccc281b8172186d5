"""Every document every plan emits validates against the event-model JSON schemas.

Documents are validated as any serializer sees them, after a JSON round trip
(STACK.md: the start document's ``hints.dimensions`` holds tuples, which JSON Schema
does not take for arrays; a round trip makes them lists, as storage does). Runs that
fail or are aborted are validated too, and no secret from the environment reaches
any document.
"""

from __future__ import annotations

import functools
import json
import threading

import event_model
import jsonschema
import pytest
from bluesky import RunEngine
from bluesky.utils import FailedStatus, RunEngineInterrupted

import sloxide.plans as plans
from sloxide.devices.sim import SimWorld, sim_lab


class Validator:
    """A RunEngine subscriber that validates each document as it is emitted."""

    __hash__ = object.__hash__

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.text: list[str] = []

    def __call__(self, name, doc):
        as_stored = json.loads(json.dumps(doc))
        _validator(name).validate(as_stored)
        self.counts[name] = self.counts.get(name, 0) + 1
        self.text.append(json.dumps(doc))


@functools.cache
def _validator(name: str):
    """A compiled schema validator per document type (compiling per document is slow)."""
    schema = event_model.schemas[event_model.DocumentNames[name]]
    return jsonschema.validators.validator_for(schema)(schema)


def _lab(sample="C10/L6"):
    return sim_lab(SimWorld(sample=sample, mode="instant", seed=0))


PLANS = {
    "rt_sweep": lambda lab: plans.rt_sweep(
        lab["hallbar"], lab["cryostat"], start=300, stop=290, step=5, sample="C10/L6"
    ),
    "field_loop": lambda lab: plans.field_loop(
        lab["hallbar"], lab["cryostat"], field_max=0.4, step=0.2, sample="C10/L6"
    ),
    "fc_magnetization": lambda lab: plans.fc_magnetization(
        lab["cryostat"], start=100, stop=90, step=5, sample="C10/L6"
    ),
    "amr_rotation (001)": lambda lab: plans.amr_rotation(
        lab["hallbar"], lab["cryostat"], lab["rotator"], plane="(001)", step=60.0
    ),
    "amr_rotation (010)": lambda lab: plans.amr_rotation(
        lab["hallbar"], lab["cryostat"], lab["rotator"], plane="(010)", step=60.0
    ),
    "xas_scan": lambda lab: plans.xas_scan(lab["beamline"], regions=(868.0, 2.0, 872.0)),
    "xld_scan": lambda lab: plans.xld_scan(lab["beamline"], edge="O K"),
}


@pytest.mark.parametrize("name", PLANS)
def test_every_document_of_every_plan_validates(name):
    validator = Validator()
    uids = RunEngine({})(PLANS[name](_lab()), validator)
    assert validator.counts["start"] == validator.counts["stop"] == len(uids) >= 1
    assert validator.counts["event"] >= 2 and validator.counts["descriptor"] >= len(uids)


def test_the_quick_campaign_validates_document_by_document():
    validator = Validator()
    lab = _lab("C2/L2")
    uids = RunEngine({})(
        plans.campaign(lab["hallbar"], lab["cryostat"], lab["rotator"], lab["beamline"],
                       sample="C2/L2", quick=True)
    , validator)  # fmt: skip
    assert (
        validator.counts["start"] == validator.counts["stop"] == len(uids) >= 9
    )  # C2/L2: not ferromagnetic, one loop, no M(T)


def test_failed_and_aborted_runs_validate_too():
    lab = _lab()
    world = lab["hallbar"].world
    RE = RunEngine({})
    validator = Validator()
    RE.subscribe(validator)
    lab["hallbar"].trigger_timeout.put(0.2)
    world.inject("detector_timeout")
    with pytest.raises(FailedStatus):
        RE(PLANS["field_loop"](lab))
    world.clear()

    def pause_soon(name, doc):
        if name == "event" and doc["seq_num"] == 2:
            threading.Thread(target=RE.request_pause, kwargs={"defer": False}).start()

    RE.subscribe(pause_soon)
    with pytest.raises(RunEngineInterrupted):
        RE(plans.field_loop(lab["hallbar"], lab["cryostat"], field_max=2.0, step=0.02))
    RE.abort()
    assert validator.counts["stop"] == 2


def test_no_secret_from_the_environment_reaches_any_document(monkeypatch):
    secret = "sloxide-test-secret-0123456789abcdef"
    monkeypatch.setenv("TILED_API_KEY", secret)
    monkeypatch.setenv("SLOXIDE_CATALOG", f"http://127.0.0.1:1/?api_key={secret}")
    validator = Validator()
    RE = RunEngine({})
    for make in PLANS.values():
        RE(make(_lab()), validator)
    text = "\n".join(validator.text)
    assert secret not in text
    assert validator.counts["start"] == len(PLANS) + 1  # xld_scan is two runs
