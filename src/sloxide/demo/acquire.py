"""Running the demo's campaign: :func:`sloxide.plans.campaign` on the simulated lab."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .schedule import SAMPLES, campaign_arguments

__all__ = ["Campaign", "run_campaign"]


@dataclass
class Campaign:
    """The uids of every run by sample, and how long acquiring them took."""

    uids: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    events: int = 0

    @property
    def runs(self) -> int:
        """How many runs were written."""
        return sum(len(uids) for uids in self.uids.values())


def run_campaign(
    catalog: Any,
    *,
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
    samples: Sequence[str] = SAMPLES,
) -> Campaign:
    """Run :func:`sloxide.plans.campaign` for every demo sample into ``catalog``.

    Parameters
    ----------
    catalog : tiled client
        Where the runs are written (:func:`sloxide.catalog.open_catalog`).
    quick : bool, default False
        Coarser steps (:func:`sloxide.demo.schedule.campaign_arguments`).
    seed : int, default 0
        The simulated lab's noise seed.
    progress : bool, default True
        A progress bar by sample on standard error.
    samples : sequence of str, default :data:`~sloxide.demo.schedule.SAMPLES`
        The samples to measure, each as the demo schedules it.

    Returns
    -------
    Campaign

    Examples
    --------
    >>> import tempfile
    >>> from sloxide.catalog import open_catalog
    >>> from sloxide.demo.acquire import run_campaign
    >>> campaign = run_campaign(open_catalog(tempfile.mkdtemp(), create=True), quick=True,
    ...                         progress=False, samples=["LNO", "CRO"])
    >>> campaign.runs, campaign.events  # one 36-angle rotation each
    (2, 72)
    """
    from bluesky import RunEngine
    from tqdm import tqdm

    from ..catalog import subscribe
    from ..devices.sim import SimWorld, sim_lab
    from ..plans import campaign as campaign_plan

    world = SimWorld(sample=SAMPLES[0], mode="instant", seed=seed)
    lab = sim_lab(world)
    instruments = [lab[name] for name in ("hallbar", "cryostat", "rotator", "beamline")]
    engine = RunEngine({})
    subscribe(engine, catalog)
    counter = {"events": 0}

    def count(name: str, doc: dict[str, Any]) -> None:
        counter["events"] += name == "event"

    engine.subscribe(count)
    campaign = Campaign()
    start = time.perf_counter()
    for sample in tqdm(samples, desc="campaign", unit="sample", disable=not progress,
                       file=sys.stderr):  # fmt: skip
        world.set_sample(sample)
        # The RunEngine returns the uids of the runs it opened (it is not in
        # call_returns_result mode here).
        uids = engine(campaign_plan(*instruments, **campaign_arguments(sample, quick)))
        campaign.uids[sample] = [str(uid) for uid in uids]  # type: ignore[union-attr]
    campaign.seconds = time.perf_counter() - start
    campaign.events = counter["events"]
    return campaign
