"""A long simulated campaign written fast: a few runs acquired, then replayed many times.

Each kind of run is acquired once on the sim lab through a RunEngine; its documents are
then written again through the catalog's own ``TiledWriter`` under new uids, an hour
apart, with their setpoint temperature changed, as a RunEngine would have written
them (one event page per run). Writing is about the catalog's cost only, so 500 runs
take a minute or two, not the half hour the RunEngine would.
"""

from __future__ import annotations

import copy
import functools
import time
import uuid
from typing import Any

#: (kind, share of the runs): field loops (AHE and MR) most, as in the paper's campaign.
MIX = (("field_loop", 6), ("rt", 2), ("fc_magnetization", 1), ("amr", 1))


@functools.cache
def _templates() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The documents of one run of each kind, acquired on the sim lab (above 20 K, so no
    run joins a temperature series: every run is one job); acquired once per process,
    and never modified (each replay copies them)."""
    from bluesky import RunEngine

    from sloxide.devices.sim import SimWorld, sim_lab
    from sloxide.plans import amr_rotation, fc_magnetization, field_loop, rt_sweep

    lab = sim_lab(SimWorld(sample="C10/L6", mode="instant", seed=0))
    hallbar, cryostat = lab["hallbar"], lab["cryostat"]
    plans = {
        "field_loop": field_loop(hallbar, cryostat, temperature=30.0, field_max=6.0, step=0.05,
                                 sample="C10/L6"),
        "rt": rt_sweep(hallbar, cryostat, start=300, stop=30, step=2, sample="C10/L6"),
        "fc_magnetization": fc_magnetization(cryostat, start=150, stop=30, step=1,
                                             sample="C10/L6"),
        "amr": amr_rotation(hallbar, cryostat, lab["rotator"], plane="(001)", step=2.0,
                            temperature=30.0, sample="C10/L6"),
    }  # fmt: skip
    out = {}
    for kind, plan in plans.items():
        documents: list[tuple[str, dict[str, Any]]] = []
        engine = RunEngine({})
        engine.subscribe(lambda name, doc, kept=documents: kept.append((name, copy.deepcopy(doc))))
        engine(plan)
        out[kind] = documents
    return out


def _replay(documents: list[tuple[str, dict[str, Any]]], when: float, index: int) -> list:
    """The documents of a new run: new uids, times from ``when``, one event page."""
    from event_model import pack_event_page

    shift = when - documents[0][1]["time"]
    run_uid = str(uuid.uuid4())
    descriptors: dict[str, str] = {}
    events: dict[str, list[dict[str, Any]]] = {}
    out: list[tuple[str, dict[str, Any]]] = []
    for name, doc in documents:
        doc = copy.deepcopy(doc)
        doc["time"] += shift
        if name == "start":
            doc["uid"], doc["scan_id"] = run_uid, index
            setpoints = (doc.get("sloxide") or {}).get("setpoints") or {}
            if "temperature_K" in setpoints:  # distinct runs, all above 20 K
                setpoints["temperature_K"] = 30.0 + 0.25 * index
            out.append((name, doc))
        elif name == "descriptor":
            descriptors[doc["uid"]] = doc["uid"] = str(uuid.uuid4())
            doc["run_start"] = run_uid
            out.append((name, doc))
        elif name == "event":
            doc["uid"] = str(uuid.uuid4())
            doc["descriptor"] = descriptors[doc["descriptor"]]
            doc["timestamps"] = {k: v + shift for k, v in doc["timestamps"].items()}
            events.setdefault(doc["descriptor"], []).append(doc)
        elif name == "stop":
            for page in events.values():
                out.append(("event_page", pack_event_page(*page)))
            doc["uid"], doc["run_start"] = str(uuid.uuid4()), run_uid
            out.append((name, doc))
    return out


def build(catalog: Any, n_runs: int) -> tuple[list[str], float]:
    """Write ``n_runs`` runs of :data:`MIX` into ``catalog``; their uids and the seconds taken."""
    from bluesky_tiled_plugins import TiledWriter

    templates = _templates()
    kinds = [kind for kind, share in MIX for _ in range(share)]
    writer = TiledWriter(catalog, batch_size=100_000)
    first = time.time() - n_runs * 3600.0
    uids = []
    began = time.perf_counter()
    for i in range(n_runs):
        for name, doc in _replay(templates[kinds[i % len(kinds)]], first + i * 3600.0, i):
            writer(name, doc)
            if name == "start":
                uids.append(doc["uid"])
    return uids, time.perf_counter() - began
