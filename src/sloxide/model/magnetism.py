"""Interfacial ferromagnetism of the CRO/LNO superlattices (PHYSICS.md section 7).

The magnetization is a distribution of local Curie temperatures, so m_s(T)
has the paper's shape: constant to 20 K, half gone by 50 K, zero above
100 K, tangent T_c ≈ 75 K. Field loops are tanh branches with a coercive
field that falls exponentially with temperature.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "saturation_magnetization",
    "coercive_field",
    "loop_width",
    "branch_magnetization",
    "LoopMemory",
    "PARAMAGNETIC_BELOW",
    "out_of_plane_field",
    "expose",
]

FloatArray = NDArray[np.float64]


def saturation_magnetization(
    temperature: Any,
    tc_mean: float = 68.0,
    tc_spread: float = 10.0,
    exponent: float = 0.5,
    points: int = 161,
) -> FloatArray:
    """Reduced saturation magnetization m_s(T) = ⟨[1 − (T/T′)²]^exponent⟩ over T′ ~ N(68 K, 10 K).

    A 161-point quadrature over ±4σ of T′ [A]. The default gives
    m(20/50/75/90 K) = 0.95/0.63/0.08/0.003 and a tangent T_c of 75.6 K; the
    C10/L2 sample uses ``exponent=1.5``.

    Parameters
    ----------
    temperature : array_like
        T in K.
    tc_mean, tc_spread : float, default 68, 10
        Mean and standard deviation of the local Curie temperature T′ in K.
    exponent : float, default 0.5
        Critical exponent of each local magnetization.
    points : int, default 161
        Quadrature points.

    Returns
    -------
    numpy.ndarray
        m_s between 0 and 1, same shape as ``temperature``.

    Examples
    --------
    >>> from sloxide.model.magnetism import saturation_magnetization
    >>> saturation_magnetization([20.0, 50.0, 75.0, 90.0]).round(3)
    array([0.952, 0.629, 0.081, 0.003])
    """
    if isinstance(temperature, float | int):  # the sim asks for one T many times
        return _saturation_scalar(float(temperature), tc_mean, tc_spread, exponent, points)
    t_local, weight = _quadrature(tc_mean, tc_spread, points)
    t = np.asarray(temperature, dtype=float)[..., None]
    local = np.clip(1.0 - (t / t_local) ** 2, 0.0, None) ** exponent
    return np.asarray((weight * local).sum(axis=-1))


@functools.lru_cache(maxsize=8)
def _quadrature(tc_mean: float, tc_spread: float, points: int) -> tuple[FloatArray, FloatArray]:
    t_local = tc_mean + tc_spread * np.linspace(-4.0, 4.0, points)
    weight = np.exp(-0.5 * ((t_local - tc_mean) / tc_spread) ** 2)
    return t_local, weight / weight.sum()


@functools.lru_cache(maxsize=4096)
def _saturation_scalar(
    temperature: float, tc_mean: float, tc_spread: float, exponent: float, points: int
) -> FloatArray:
    t_local, weight = _quadrature(tc_mean, tc_spread, points)
    local = np.clip(1.0 - (temperature / t_local) ** 2, 0.0, None) ** exponent
    return np.asarray((weight * local).sum())


def coercive_field(temperature: Any, coercive_field_2k: float) -> FloatArray:
    """µ0H_C(T) = µ0H_C(2 K)·exp((2 K − T)/8 K), in T [A].

    Examples
    --------
    >>> from sloxide.model.magnetism import coercive_field
    >>> coercive_field([2.0, 20.0], 0.97).round(2)
    array([0.97, 0.1 ])
    """
    return coercive_field_2k * np.exp((2.0 - np.asarray(temperature, dtype=float)) / 8.0)


def loop_width(coercive: Any) -> FloatArray:
    """Width w of the tanh branches: max(µ0H_C/atanh 0.9, 0.25 T) [A].

    Examples
    --------
    >>> from sloxide.model.magnetism import loop_width
    >>> loop_width([0.97, 0.1]).round(3)
    array([0.659, 0.25 ])
    """
    return np.maximum(np.asarray(coercive, dtype=float) / np.arctanh(0.9), 0.25)


def branch_magnetization(field: Any, branch: Any, coercive: Any, width: Any) -> FloatArray:
    """Reduced magnetization m_b on a loop branch that started from saturation.

    m_up(H) = tanh((µ0H − µ0H_C)/w) and m_down(H) = tanh((µ0H + µ0H_C)/w).

    Parameters
    ----------
    field : array_like
        µ0H in T.
    branch : array_like of {+1, -1}
        +1 on the up branch (dH/dt > 0), −1 on the down branch.
    coercive, width : array_like
        µ0H_C and w in T.

    Examples
    --------
    >>> from sloxide.model.magnetism import branch_magnetization
    >>> branch_magnetization([0.0, 0.0], [1, -1], 0.97, 0.659).round(3)
    array([-0.9,  0.9])
    """
    h = np.asarray(field, dtype=float)
    sign = np.asarray(branch, dtype=float)
    return np.tanh((h - sign * np.asarray(coercive)) / np.asarray(width))


#: Below this reduced magnetization the sample is paramagnetic: cooling through T_c in a
#: field magnetizes it along the field, in zero field it is left unmagnetized.
PARAMAGNETIC_BELOW = 1e-3


class LoopMemory:
    """Hysteresis memory of one sample: which saturation the field history reached last.

    ``state`` is +1 after +saturation (the sample is on the down branch), −1 after
    −saturation (up branch) and 0 when unmagnetized (zero-field cooled, virgin curve).
    Saturation is reached at |µ0H| ≥ H_C + 3w. Above T_c (m_s < 1e-3) the state follows
    the sign of the field, so field cooling magnetizes the sample along the field, fully
    (m_b = ±1, so FC M(T) follows m_s(T)) until the field is reversed or saturates. There
    are no minor loops: a reversal before saturation stays on the same branch [A].

    Examples
    --------
    >>> from sloxide.model.magnetism import LoopMemory
    >>> memory = LoopMemory()
    >>> memory.observe(9.0, coercive=0.97, width=0.659, m_s=1.0)
    >>> round(float(memory.magnetization(0.0, 0.97, 0.659)), 2)  # down branch at zero field
    0.9
    >>> memory.observe(-9.0, coercive=0.97, width=0.659, m_s=1.0)
    >>> round(float(memory.magnetization(0.0, 0.97, 0.659)), 2)
    -0.9
    """

    def __init__(self, state: int = 0) -> None:
        self.state = state
        self.field_cooled = False

    def observe(self, field: float, coercive: float, width: float, m_s: float) -> None:
        """Update the memory with a field the sample has been exposed to."""
        if m_s < PARAMAGNETIC_BELOW:
            self.state = int(np.sign(field))
            self.field_cooled = self.state != 0
        elif field >= coercive + 3 * width:
            self.state, self.field_cooled = 1, False
        elif field <= -(coercive + 3 * width):
            self.state, self.field_cooled = -1, False
        elif self.field_cooled and field * self.state < 0:
            self.field_cooled = False  # a reversed field unpins the field-cooled state

    def magnetization(self, field: Any, coercive: float, width: float) -> FloatArray:
        """m_b at ``field`` on the branch the history selects (the virgin curve averages both)."""
        if self.field_cooled:
            return np.full(np.shape(field), float(self.state))
        down = branch_magnetization(field, -1, coercive, width)
        up = branch_magnetization(field, 1, coercive, width)
        if self.state > 0:
            return down
        if self.state < 0:
            return up
        return 0.5 * (up + down)


class _LoopSample(Protocol):
    """What :func:`expose` needs of a sample (a :class:`~sloxide.model.samples.Sample`)."""

    @property
    def ferromagnetic(self) -> bool: ...

    @property
    def coercive_field_2k_T(self) -> float: ...

    def saturation_magnetization(self, temperature: Any) -> Any: ...


def out_of_plane_field(field: float, angle_deg: float, plane: str) -> float:
    """The field component along the film normal [001] in T: µ0H·sin φ in the (010) plane.

    The rotator turns the field by φ from [100] in its ``plane``: in "(010)" it passes
    through [001] at φ = 90°, in "(001)" it stays in the film, so its normal component
    is zero. The loops and the anomalous Hall effect follow this component (PHYSICS.md §7).

    Parameters
    ----------
    field : float
        µ0H in T.
    angle_deg : float
        Rotator angle φ in degrees.
    plane : {"(010)", "(001)"}
        The rotation plane.

    Returns
    -------
    float
        µ0H along [001] in T.

    Examples
    --------
    >>> from sloxide.model.magnetism import out_of_plane_field
    >>> out_of_plane_field(2.0, 90.0, "(010)"), out_of_plane_field(2.0, 90.0, "(001)")
    (2.0, 0.0)
    >>> round(out_of_plane_field(2.0, 30.0, "(010)"), 6)
    1.0
    """
    if plane == "(010)":
        return field * math.sin(math.radians(angle_deg))
    return 0.0


def expose(memory: LoopMemory, sample: _LoopSample, temperature: float, field: float) -> None:
    """Let a sample's hysteresis memory see the out-of-plane ``field`` at ``temperature``.

    The saturation field H_C(T) + 3w(T) and m_s(T) of the sample decide whether the
    memory flips (:meth:`LoopMemory.observe`); a sample without loops is paramagnetic
    (m_s = 0), so its memory only follows the sign of the field.

    Parameters
    ----------
    memory : LoopMemory
        The sample's memory; updated in place.
    sample : Sample
        The sample (``ferromagnetic``, ``coercive_field_2k_T``, m_s(T)).
    temperature : float
        T in K.
    field : float
        µ0H along the film normal in T (:func:`out_of_plane_field`).

    Examples
    --------
    >>> from sloxide.model.magnetism import LoopMemory, expose
    >>> from sloxide.model.samples import SAMPLES
    >>> memory = LoopMemory()
    >>> expose(memory, SAMPLES["C10/L6"], 2.0, 9.0)  # saturate at 2 K
    >>> memory.state
    1
    """
    m_s = float(sample.saturation_magnetization(temperature))
    hc = float(coercive_field(temperature, sample.coercive_field_2k_T))
    memory.observe(field, hc, float(loop_width(hc)), m_s if sample.ferromagnetic else 0.0)
