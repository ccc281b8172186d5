"""What a magnetometer reads from a superlattice on its substrate (PHYSICS.md §5, §7).

The reading is the film's moment plus the substrate's, with the magnetometer's noise on
the total (PHYSICS.md §7: M 0.5 %)::

    m = [M_s·V_film·m_s(T)·m_b(H) + V_sub·µ0H·(χ_d + C/T)]·(1 + 0.005·ξ),   ξ ~ N(0, 1)

The film term follows the loop branch the field history selects (:class:`LoopMemory`);
the substrate term is the background that PHYSICS.md §5 says to subtract first
(χ_d·H + C·H/T). Its size is what makes T_c hard: at 0.2 T and 10 K the LSAT
paramagnetism is about five times the C10/L6 film moment, so the 0.5 % noise on the
total is a few % of the film moment there.

Geometry and substrate [A]: a 5 × 5 mm² film on a 0.5 mm LSAT substrate, whose
diamagnetism (χ_d = −1e-6 emu/(cm³·Oe)) and paramagnetic impurities
(C = 5e-5 emu·K/(cm³·Oe)) make the background.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .magnetism import LoopMemory, coercive_field, loop_width
from .samples import Sample

__all__ = [
    "FILM_AREA_CM2",
    "SUBSTRATE_VOLUME_CM3",
    "CHI_SUBSTRATE",
    "CURIE_SUBSTRATE",
    "NOISE_MOMENT",
    "film_moment",
    "substrate_moment",
    "measured_moment",
]

FloatArray = NDArray[np.float64]

#: Film area, cm² (5 × 5 mm²) [A].
FILM_AREA_CM2 = 0.25
#: LSAT substrate volume, cm³ (5 × 5 × 0.5 mm³) [A].
SUBSTRATE_VOLUME_CM3 = 0.25 * 0.05
#: Diamagnetic susceptibility of the substrate, emu/(cm³·Oe) [A].
CHI_SUBSTRATE = -1e-6
#: Curie constant of the substrate's paramagnetic impurities, emu·K/(cm³·Oe) [A].
CURIE_SUBSTRATE = 5e-5
#: Relative noise of a magnetometer reading, on the total moment (PHYSICS.md §7) [A].
NOISE_MOMENT = 0.005


def film_moment(sample: Sample, temperature: float, field: Any, memory: LoopMemory) -> FloatArray:
    """Moment of the film alone in emu: M_s·V_film·m_s(T)·m_b(H) (PHYSICS.md §7).

    Parameters
    ----------
    sample : Sample
        The sample (``magnetization_emu_cm3``, ``thickness_nm``, loop parameters).
    temperature : float
        T in K.
    field : array_like
        µ0H in T, out of plane.
    memory : LoopMemory
        The sample's hysteresis memory; it selects the branch and is not updated here.

    Returns
    -------
    numpy.ndarray
        Moment in emu, shape of ``field``; zero for a sample without loops.

    Examples
    --------
    >>> from sloxide.model.magnetism import LoopMemory
    >>> from sloxide.model.magnetometry import film_moment
    >>> from sloxide.model.samples import SAMPLES
    >>> float(film_moment(SAMPLES["C10/L6"], 2.0, 9.0, LoopMemory(+1)) * 1e6).__round__(2)
    23.08
    """
    h = np.asarray(field, dtype=float)
    if not sample.ferromagnetic:
        return np.zeros_like(h)
    m_s = float(sample.saturation_magnetization(temperature))
    hc = float(coercive_field(temperature, sample.coercive_field_2k_T))
    m_b = memory.magnetization(h, hc, float(loop_width(hc)))
    volume = FILM_AREA_CM2 * sample.thickness_nm * 1e-7
    return np.asarray(sample.magnetization_emu_cm3 * volume * m_s * m_b, dtype=float)


def substrate_moment(temperature: Any, field: Any) -> FloatArray:
    """Moment of the substrate in emu: V_sub·H·(χ_d + C/T), H in Oe (PHYSICS.md §5).

    Examples
    --------
    >>> from sloxide.model.magnetometry import substrate_moment
    >>> (substrate_moment([10.0, 300.0], 0.2) * 1e6).round(2)
    array([100.  , -20.83])
    """
    t = np.asarray(temperature, dtype=float)
    h_oe = np.asarray(field, dtype=float) * 1e4  # µ0H in T → H in Oe (PHYSICS.md §0)
    return np.asarray(SUBSTRATE_VOLUME_CM3 * h_oe * (CHI_SUBSTRATE + CURIE_SUBSTRATE / t))


def measured_moment(
    sample: Sample,
    temperature: float,
    field: Any,
    memory: LoopMemory,
    rng: np.random.Generator | None = None,
    noise: float = NOISE_MOMENT,
) -> FloatArray:
    """A magnetometer reading in emu: film plus substrate, with the noise on the total.

    Parameters
    ----------
    sample : Sample
        The sample on its substrate.
    temperature : float
        T in K.
    field : array_like
        µ0H in T, out of plane.
    memory : LoopMemory
        The sample's hysteresis memory (not updated here).
    rng : numpy.random.Generator, optional
        The caller's seeded generator; None gives the noise-free moment.
    noise : float, default NOISE_MOMENT (0.5 %)
        Relative standard deviation of a reading (PHYSICS.md §7).

    Returns
    -------
    numpy.ndarray
        Moment in emu, shape of ``field``.

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.model.magnetism import LoopMemory
    >>> from sloxide.model.magnetometry import measured_moment
    >>> from sloxide.model.samples import SAMPLES
    >>> clean = measured_moment(SAMPLES["C10/L6"], 10.0, 0.2, LoopMemory(+1))
    >>> round(float(clean) * 1e6, 2)  # 22.28 µemu of film on 100 µemu of substrate
    122.28
    >>> rng = np.random.default_rng(0)
    >>> readings = measured_moment(SAMPLES["C10/L6"], 10.0, np.full(20_000, 0.2),
    ...                            LoopMemory(+1), rng)
    >>> round(float(readings.std() / clean), 3)
    0.005
    """
    h = np.asarray(field, dtype=float)
    total = film_moment(sample, temperature, h, memory) + substrate_moment(temperature, h)
    if rng is not None:
        total = total * (1 + noise * rng.standard_normal(h.shape))
    return np.asarray(total, dtype=float)
