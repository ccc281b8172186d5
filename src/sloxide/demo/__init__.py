"""The main job: the simulated paper campaign into the catalog, reduced, compared, drawn.

``sloxide demo`` runs each step from its own home, the same code a lab uses:

1. **running** (:mod:`sloxide.demo.acquire`): :func:`sloxide.plans.campaign` for each
   sample on the simulated lab, as :mod:`sloxide.demo.schedule` sizes it, into the
   embedded Tiled catalog;
2. **reducing**: :func:`sloxide.batch.reduce_catalog`, exactly what ``sloxide reduce``
   does, storing every result of :mod:`sloxide.reduction`'s table;
3. **comparing** (:mod:`sloxide.demo.compare`): the stored results gathered with
   :func:`sloxide.results.collect`, beside the paper's numbers;
4. **drawing** (:mod:`sloxide.demo.figures`): the paper's panels from the same results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..report import Comparison
from .acquire import Campaign, run_campaign
from .compare import PAPER_NI_L2_RATIO, compare, gather, parallel_model
from .figures import write_figures
from .schedule import SAMPLES, campaign_arguments

__all__ = [
    "Campaign",
    "Reproduction",
    "PAPER_NI_L2_RATIO",
    "SAMPLES",
    "campaign_arguments",
    "compare",
    "gather",
    "parallel_model",
    "reproduce",
    "run_campaign",
    "write_figures",
]


@dataclass
class Reproduction:
    """What :func:`reproduce` did: the campaign, the reduction and the table."""

    campaign: Campaign
    reduction: Any  # sloxide.batch.Summary
    rows: list[Comparison]
    figures: list[Path]

    @property
    def summary(self) -> str:
        """One paragraph on how the numbers were made."""
        r = self.reduction
        failed = f", {r.failed} failed" if r.failed else ""
        return (
            f"{self.campaign.runs} runs, {self.campaign.events} events, acquired in "
            f"{self.campaign.seconds:.0f} s on the simulated lab (instant mode); "
            f"{r.reduced} reductions stored in {r.seconds:.0f} s ({r.skipped} already "
            f"stored{failed}) by the path of `sloxide reduce`; the table and the figures "
            "read the stored results."
        )

    @property
    def reproduced(self) -> bool:
        """Every row within its tolerance, and no reduction failed."""
        return not self.reduction.failed and all(row.within for row in self.rows)


def reproduce(
    catalog: Any, out: Path, *, quick: bool = False, seed: int = 0, progress: bool = True
) -> Reproduction:
    """Run, reduce, compare and draw the simulated campaign (``sloxide demo``).

    Parameters
    ----------
    catalog : tiled client
        Where the runs and results are stored (:func:`sloxide.catalog.open_catalog`).
    out : pathlib.Path
        Where the figures go.
    quick : bool, default False
        Coarser steps.
    seed : int, default 0
        The simulated lab's noise seed.
    progress : bool, default True
        Progress bars on standard error.

    Returns
    -------
    Reproduction

    Examples
    --------
    The whole campaign takes about a minute (``tests/test_demo.py`` runs it):

    >>> from sloxide.demo import reproduce
    >>> reproduce.__name__
    'reproduce'
    """
    from ..batch import reduce_catalog

    campaign = run_campaign(catalog, quick=quick, seed=seed, progress=progress)
    reduction = reduce_catalog(catalog, progress=progress)
    stored = gather(catalog, {uid for uids in campaign.uids.values() for uid in uids})
    rows = compare(catalog, stored)
    figures = write_figures(catalog, stored, out)
    return Reproduction(campaign, reduction, rows, figures)
