"""What the demo measures on each sample: :func:`sloxide.plans.campaign` arguments.

The paper's measurements (Figs. 1–5, S5), each sample getting what its figures need,
with steps sized so that the whole campaign runs in minutes on the simulated lab.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SAMPLES", "campaign_arguments"]

#: The samples in the order the demo measures them.
SAMPLES = ("C10/L6", "C10/L2", "C10/L4", "C10/L8", "C2/L6", "C2/L2", "LNO", "CRO")

_NONE: dict[str, Any] = {"rt": False, "loop_temperatures": (), "fc": False, "rotations": (),
                         "edges": ()}  # fmt: skip

#: Per sample, what differs from measuring nothing; the steps are below.
_MEASURED: dict[str, dict[str, Any]] = {
    # The AHE scaling (2–20 K, Fig. 3), the MR below and above T_c (50 and 150 K).
    "C10/L6": {"rt": True, "loop_temperatures": (2.0, 5.0, 10.0, 15.0, 20.0, 50.0, 150.0),
               "fc": True, "rotations": (("(001)", 5.0),), "edges": ("Ni L2",)},
    # The (010) sign change of c2 between 5 and 20 K (Fig. 5), and the CaRuO3 layer ρ.
    "C10/L2": {"rt": True, "loop_temperatures": (2.0,), "fc": True,
               "rotations": (("(001)", 5.0), ("(010)", 5.0), ("(010)", 20.0)),
               "edges": ("Ni L2",)},
    "C10/L4": {"loop_temperatures": (2.0,), "fc": True, "edges": ("Ni L2",)},
    "C10/L8": {"loop_temperatures": (2.0,), "fc": True, "edges": ("Ni L2",)},
    # The 4-fold AMR below T_c and its absence above (Fig. 5), and the LaNiO3 layer ρ.
    "C2/L6": {"rt": True, "loop_temperatures": (2.0,), "fc": True,
              "rotations": (("(001)", 5.0), ("(001)", 120.0)), "edges": ("Ni L2",)},
    # The orbital polarization (Fig. 4b) and the O K XLD (Fig. 4c).
    "C2/L2": {"edges": ("Ni L2", "O K")},
    "LNO": {"rotations": (("(001)", 5.0),)},
    "CRO": {"rotations": (("(001)", 5.0),)},
}  # fmt: skip

#: Finer energy steps where a figure is drawn from the spectra (Figs. 3b, 4).
_FINE_SPECTRA = ("C10/L6", "C2/L2")


def campaign_arguments(sample: str, quick: bool = False) -> dict[str, Any]:
    """The keyword arguments of :func:`sloxide.plans.campaign` for one demo sample.

    Parameters
    ----------
    sample : str
        One of :data:`SAMPLES`.
    quick : bool, default False
        Coarser field and temperature steps.

    Returns
    -------
    dict

    Examples
    --------
    >>> from sloxide.demo.schedule import campaign_arguments
    >>> arguments = campaign_arguments("C2/L2")
    >>> arguments["edges"], arguments["loop_temperatures"], arguments["energy_step"]
    (('Ni L2', 'O K'), (), 0.1)
    """
    fine = sample in _FINE_SPECTRA and not quick
    return {
        "sample": sample,
        **_NONE,
        **_MEASURED[sample],
        "rt_step": 10.0 if quick else 5.0,
        "loop_step": 0.2 if quick else 0.1,
        "rotation_step": 10.0,
        "energy_step": 0.1 if fine else 0.2,
        "quick": quick,
    }
