"""X-ray absorption of the samples at the Ni L2, O K and Ru M2,3 edges (PHYSICS.md §4, §7).

:func:`absorption` gives the normalized absorption μ(E), edge step 1 above
the edge, seen at an incidence angle θ from the surface with E in the
scattering plane: I(θ) = I_ab·sin²θ + I_c·cos²θ. The linear dichroism
D = I_ab − I_c enters as I_ab = iso + D/3 and I_c = iso − 2D/3, so the
isotropic spectrum (2·I_ab + I_c)/3 does not depend on it. :func:`tey` turns
μ into the total-electron-yield (TEY) signal a beamline records, and
:func:`add_noise` adds its noise (0.1 % of the edge step). :class:`IncidentFlux`
is the incident flux I0 it is recorded with: a fluctuating, slowly drifting
monitor that TEY/I0 normalizes out.

Ni L2 (PHYSICS.md §7 "XAS")
---------------------------
White lines of area-normalized Gaussians G(centre, FWHM) on an erf step
½[1 + erf((E − 870.6 eV)/0.8 eV)] (``NI_L2_STEP_CENTER``, ``NI_L2_STEP_WIDTH`` of
:mod:`sloxide.constants`, the step the paper's orbital-polarization analysis
subtracts, PHYSICS.md §4)::

    iso = A·[x·2·(w·G(870.2, 0.9) + (1 − w)·G(871.2, 1.0)) + (1 − x)·1.6·G(871.6, 1.5)] + step

* A = ``NI_L2_WHITE_LINE_SCALE`` = 3 [A]: the white line peaks at 2.7–3.8 ×
  the unit step (LNO to C10/L2). On the L2-only normalization of §4 (pre-edge line on the
  L3 tail) the L2 step is about a third of the whole L2,3 jump, so a peak
  several times the step is what measured spectra show.
* w = ``NI2_LOW_PEAK_FRACTION`` = 0.6 [A]: the part of the Ni²⁺ doublet's
  area in its 870.2 eV peak (§7 gives centres and widths only).
* x is the Ni²⁺ fraction of the sample, ``Sample.ni2_fraction``: a physical
  input [A] of the sample table (model/samples.py), chosen once so that the
  paper's two-Gaussian fit (PHYSICS.md §4) of the noise-free isotropic spectrum
  returns the paper's I_a/(I_a + I_b) of Fig. S5b. The model never runs that
  fit: the analysis has to find the ratio on its own (tests/test_model_spectra.py).

  Why A and w are not smaller: a two-Gaussian fit with a linear background
  cannot follow the erf step under its window, which moves area from peak a
  into the broad peak b. With A = 1 and w = 0.5 even pure Ni²⁺ (x = 1) fits as
  0.22, and with A = 2 as 0.34, below the paper's 0.30–0.45; with A = 3, w = 0.6
  the fit spans 0–0.48.

The dichroism D ∝ G(871.4, 1.3) has ∫D = 3·A_iso·(1 − r)/(r + 2), with
A_iso the white-line area of iso and r = ∫I_c/∫I_ab from the sample's
orbital polarization P by the inverse of PHYSICS.md §4 (q = P/(4/n_eg − 1),
X = (1 + q)/(1 − q), r = 4X/(3 + X), n_eg = 1): C2/L2 has P = 0.19 [P], so
r = 1.0981; the others P = 0.10 [A].
P > 0 (x²−y² preferred) gives r > 1 and a negative XLD.

O K
---
Gaussians (centre, FWHM, peak height over the unit step) [A: heights]:
527.8 (1.5) 0.6, 530.9 (3) 1.0, 535.5 (3.5) 0.8, 541 (5) 0.7, on an erf step
at ``O_K_STEP_CENTER`` = 532 eV, width 1.5 eV [A]. The Ru e_g band at
530.9 eV is weaker in every sample but bare CRO (× ``O_K_RU_EG_WEIGHT`` =
0.85) [P: "reduced intensity ... for the SLs"; the factor is A]. The XLD
(``O_K_XLD``) is +0.06 and +0.04 for C2/L2, the band averages of
I_ab − I_c over the first two ``O_K_BANDS`` [P: sign], carried by the
Gaussians at 527.8 and 530.9 eV; the other samples have none [A].

Ru M3/M2
--------
Gaussians at 463.0 and 485.2 eV, FWHM 3.5 eV, heights 0.8 and 0.4 over an
erf step under each peak (width 1.5 eV), the M3 step 2/3 and the M2 step 1/3
of the unit step by the 2j + 1 degeneracy of the 3p levels [A: heights,
steps]. Every superlattice is shifted by ``RU_M_SL_SHIFT`` = +0.3 eV against
bare CRO [P: sign]. Isotropic: no XLD [A].

Samples without the element (CRO at Ni L2, LNO at Ru M) have μ = 0 there:
:func:`tey` then records its smooth background alone.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import erf, ndtr

from ..constants import NI_L2_STEP_CENTER, NI_L2_STEP_WIDTH, O_K_BANDS
from ..errors import SloxideError
from .samples import SAMPLES, Sample

__all__ = [
    "Edge",
    "EDGES",
    "edge_at",
    "NI_L2_WHITE_LINE_SCALE",
    "NI2_LOW_PEAK_FRACTION",
    "O_K_STEP_CENTER",
    "O_K_RU_EG_WEIGHT",
    "O_K_XLD",
    "RU_M_SL_SHIFT",
    "TEY_STEP",
    "TEY_NOISE",
    "I0_FLUCTUATION",
    "I0_DRIFT",
    "I0_DRIFT_READINGS",
    "absorption",
    "tey",
    "add_noise",
    "IncidentFlux",
]

FloatArray = NDArray[np.float64]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class Edge:
    """An absorption edge: its tabulated energy and a scan range that covers it.

    ``pre_eV`` and ``norm_eV`` are the normalization windows of PHYSICS.md §4,
    relative to ``e0_eV`` (None: larch's defaults).

    Examples
    --------
    >>> from sloxide.model.spectra import EDGES
    >>> ni = EDGES["Ni L2"]
    >>> ni.e0_eV, ni.pre_eV, ni.norm_eV
    (870.0, (-8.0, -3.0), (9.0, 15.0))
    >>> e = ni.energies()
    >>> e.size, float(e[0]), float(e[-1])
    (231, 862.0, 885.0)
    """

    name: str
    e0_eV: float
    start_eV: float
    stop_eV: float
    step_eV: float = 0.1
    pre_eV: tuple[float, float] | None = None
    norm_eV: tuple[float, float] | None = None

    def energies(self, step_eV: float | None = None) -> FloatArray:
        """The scan grid from ``start_eV`` to ``stop_eV`` inclusive, in eV.

        Examples
        --------
        >>> from sloxide.model.spectra import EDGES
        >>> EDGES["Ru M"].energies(10.0)
        array([450., 460., 470., 480., 490., 500.])
        """
        step = self.step_eV if step_eV is None else float(step_eV)
        count = int(round((self.stop_eV - self.start_eV) / step))
        return np.round(self.start_eV + step * np.arange(count + 1), 6)


#: The supported edges. e0 is the tabulated edge of PHYSICS.md §4 (Ru: M3; the M2
#: edge is at 483.3 eV). The O K value, 543.1 eV, is the tabulated 1s energy, well
#: above the oxide's absorption onset: the model's O K step is at O_K_STEP_CENTER.
EDGES: dict[str, Edge] = {
    "Ni L2": Edge("Ni L2", 870.0, 862.0, 885.0, 0.1, pre_eV=(-8.0, -3.0), norm_eV=(9.0, 15.0)),
    "O K": Edge("O K", 543.1, 520.0, 550.0, 0.1),
    "Ru M": Edge("Ru M", 461.5, 450.0, 500.0, 0.1),
}
_EDGE_ALIASES = {"ru m2,3": "Ru M", "ru m3/m2": "Ru M", "ru m23": "Ru M", "ni l2": "Ni L2"}


def edge_at(energy: float) -> str:
    """The edge whose scan range holds ``energy`` in eV, or the nearest one outside them all.

    A beamline's mono energy says which spectrum it records: the simulated TEY at an
    energy is that edge's.

    Examples
    --------
    >>> from sloxide.model.spectra import edge_at
    >>> edge_at(870.0), edge_at(530.0), edge_at(800.0)
    ('Ni L2', 'O K', 'Ni L2')
    """
    best, distance = "Ni L2", math.inf
    for name, spec in EDGES.items():
        low, high = spec.start_eV, spec.stop_eV
        if low <= energy <= high:
            return name
        d = min(abs(energy - low), abs(energy - high))
        if d < distance:
            best, distance = name, d
    return best


# Ni L2 white lines [P: centres; A: widths], eV: Ni²⁺ doublet, Ni³⁺ line, dichroism.
_NI2_LINES = ((870.2, 0.9), (871.2, 1.0))
_NI3_LINE = (871.6, 1.5)
_NI3_WEIGHT = 1.6
_NI_XLD_LINE = (871.4, 1.3)
#: White-line scale A over the unit edge step (module docstring) [A].
NI_L2_WHITE_LINE_SCALE = 3.0
#: Part w of the Ni²⁺ doublet's area in its 870.2 eV peak [A].
NI2_LOW_PEAK_FRACTION = 0.6

#: Centre of the O K erf step in eV (the oxide's continuum onset) [A].
O_K_STEP_CENTER = 532.0
_O_K_STEP_WIDTH = 1.5
# O K bands: (centre, FWHM, peak height over the unit step) [P: centres; A: rest].
_O_K_LINES = ((527.8, 1.5, 0.6), (530.9, 3.0, 1.0), (535.5, 3.5, 0.8), (541.0, 5.0, 0.7))
#: Weight of the Ru e_g band (530.9 eV) in every sample but bare CRO [P: smaller; A: 0.85].
O_K_RU_EG_WEIGHT = 0.85
#: O K XLD I_ab − I_c averaged over the first two O_K_BANDS, per sample [P: sign];
#: samples not listed have none [A].
O_K_XLD: dict[str, tuple[float, float]] = {"C2/L2": (0.06, 0.04)}

# Ru M3, M2: (centre, peak height, step height) [P: centres; A: rest].
_RU_M_LINES = ((463.0, 0.8, 2.0 / 3.0), (485.2, 0.4, 1.0 / 3.0))
_RU_M_FWHM = 3.5
_RU_M_STEP_WIDTH = 1.5
#: Shift of the Ru M2,3 spectrum of every superlattice against bare CRO, eV [P: sign].
RU_M_SL_SHIFT = 0.3

#: TEY edge step per unit I0 [A], and the TEY noise as a fraction of it (PHYSICS.md §7:
#: 0.1 % of the step).
TEY_STEP = 0.35
TEY_NOISE = 0.001
#: The incident flux I0 that TEY is divided by (PHYSICS.md §4 normalization) [A]. A
#: beamline's I0 jitters from reading to reading (beam position, top-up injections) and
#: drifts slowly (optics heat load, ring decay between top-ups). The reading-to-reading
#: fluctuation is 0.5 % r.m.s., five times the TEY noise; the drift is a mean-reverting
#: random walk of 2 % r.m.s. that decorrelates over 200 readings (about one Ni L2 scan),
#: so across one spectrum I0 wanders by ~2 %, ≈ 3 % of the edge step in the raw TEY.
#: TEY follows I0 exactly, so TEY/I0 removes both; I0 is read without noise of its own.
I0_FLUCTUATION = 0.005
I0_DRIFT = 0.02
I0_DRIFT_READINGS = 200.0


def _gaussian(energy: FloatArray, centre: float, fwhm: float) -> FloatArray:
    """Area-normalized Gaussian G(centre, FWHM), 1/eV."""
    sigma = fwhm / _FWHM_PER_SIGMA
    u = (energy - centre) / sigma
    return np.exp(-0.5 * u * u) / (sigma * math.sqrt(2.0 * math.pi))


def _peak(energy: FloatArray, centre: float, fwhm: float) -> FloatArray:
    """Gaussian of unit height."""
    sigma = fwhm / _FWHM_PER_SIGMA
    u = (energy - centre) / sigma
    return np.exp(-0.5 * u * u)


def _edge_step(energy: FloatArray, center: float, width: float, height: float = 1.0) -> FloatArray:
    """Isotropic erf edge step height·½[1 + erf((E − center)/width)]."""
    return np.asarray(height * 0.5 * (1.0 + erf((energy - center) / width)), dtype=float)


def _hole_ratio(polarization: float, n_eg: float = 1.0) -> float:
    """r = ∫I_c/∫I_ab of an orbital polarization P: the inverse of PHYSICS.md §4.

    q = P/(4/n_eg − 1), X = h_z/h_x = (1 + q)/(1 − q), r = 4X/(3 + X); P = 0.19 gives 1.0981.
    """
    q = polarization / (4.0 / n_eg - 1.0)
    x = (1.0 + q) / (1.0 - q)
    return 4.0 * x / (3.0 + x)


def _sample(sample: Sample | str) -> Sample:
    if isinstance(sample, Sample):
        return sample
    if sample not in SAMPLES:
        raise SloxideError(f"unknown sample {sample!r}; the model knows {list(SAMPLES)}")
    return SAMPLES[sample]


def _edge(edge: str) -> Edge:
    if edge in EDGES:
        return EDGES[edge]
    key = " ".join(str(edge).split()).lower()
    for name in EDGES:
        if name.lower() == key:
            return EDGES[name]
    if key in _EDGE_ALIASES:
        return EDGES[_EDGE_ALIASES[key]]
    raise SloxideError(f"unknown edge {edge!r}; the spectra model has {list(EDGES)}")


# --------------------------------------------------------------------------- Ni L2


def _ni_white_line(energy: FloatArray, ni2_fraction: Any, scale: float, split: float) -> Any:
    """The isotropic Ni L2 white line without its step (module docstring)."""
    x = np.asarray(ni2_fraction, dtype=float)
    (c_a, f_a), (c_b, f_b) = _NI2_LINES
    ni2 = 2.0 * (split * _gaussian(energy, c_a, f_a) + (1.0 - split) * _gaussian(energy, c_b, f_b))
    ni3 = _NI3_WEIGHT * _gaussian(energy, *_NI3_LINE)
    return scale * (x * ni2 + (1.0 - x) * ni3)


def _ni_l2(sample: Sample, energy: FloatArray) -> tuple[FloatArray, FloatArray]:
    if not sample.has_nickel:
        zero = np.zeros_like(energy)
        return zero, zero
    scale, split = NI_L2_WHITE_LINE_SCALE, NI2_LOW_PEAK_FRACTION
    x = sample.ni2_fraction
    area_iso = scale * (2.0 * x + _NI3_WEIGHT * (1.0 - x))
    r = _hole_ratio(sample.orbital_polarization, n_eg=1.0)
    # ∫I_c/∫I_ab = (A − 2∫D/3)/(A + ∫D/3) = r  ⇔  ∫D = 3A(1 − r)/(r + 2)  (PHYSICS.md §7).
    dichroism = 3.0 * area_iso * (1.0 - r) / (r + 2.0) * _gaussian(energy, *_NI_XLD_LINE)
    iso = _ni_white_line(energy, x, scale, split)
    iso = iso + _edge_step(energy, NI_L2_STEP_CENTER, NI_L2_STEP_WIDTH)
    return iso + dichroism / 3.0, iso - 2.0 * dichroism / 3.0


# --------------------------------------------------------------------------- O K


@functools.cache
def _o_k_xld_heights(band_averages: tuple[float, float]) -> tuple[float, float]:
    """Heights of the XLD Gaussians at 527.8 and 530.9 eV that average to ``band_averages``."""
    bands = list(O_K_BANDS.values())[:2]
    lines = _O_K_LINES[:2]
    # Mean of a unit-height Gaussian over [lo, hi]: √(2π)·σ·[Φ(hi) − Φ(lo)]/(hi − lo).
    means = np.array(
        [
            [
                math.sqrt(2.0 * math.pi)
                * (fwhm / _FWHM_PER_SIGMA)
                * (
                    ndtr((hi - centre) / (fwhm / _FWHM_PER_SIGMA))
                    - ndtr((lo - centre) / (fwhm / _FWHM_PER_SIGMA))
                )
                / (hi - lo)
                for centre, fwhm, _ in lines
            ]
            for lo, hi in bands
        ]
    )
    heights = np.linalg.solve(means, np.asarray(band_averages, dtype=float))
    return float(heights[0]), float(heights[1])


def _o_k(sample: Sample, energy: FloatArray) -> tuple[FloatArray, FloatArray]:
    iso = _edge_step(energy, O_K_STEP_CENTER, _O_K_STEP_WIDTH)
    for k, (centre, fwhm, height) in enumerate(_O_K_LINES):
        weight = O_K_RU_EG_WEIGHT if k == 1 and sample.name != "CRO" else 1.0
        iso = iso + weight * height * _peak(energy, centre, fwhm)
    averages = O_K_XLD.get(sample.name)
    if averages is None:
        return iso, iso
    dichroism = sum(
        (
            h * _peak(energy, centre, fwhm)
            for h, (centre, fwhm, _) in zip(
                _o_k_xld_heights(averages), _O_K_LINES[:2], strict=True
            )
        ),
        np.zeros_like(energy),
    )
    return iso + dichroism / 3.0, iso - 2.0 * dichroism / 3.0


# --------------------------------------------------------------------------- Ru M


def _ru_m(sample: Sample, energy: FloatArray) -> tuple[FloatArray, FloatArray]:
    mu = np.zeros_like(energy)
    if not sample.has_ruthenium:
        return mu, mu
    shift = RU_M_SL_SHIFT if sample.has_nickel else 0.0
    for centre, height, step in _RU_M_LINES:
        mu = mu + height * _peak(energy, centre + shift, _RU_M_FWHM)
        mu = mu + _edge_step(energy, centre + shift, _RU_M_STEP_WIDTH, step)
    return mu, mu


_COMPONENTS = {"Ni L2": _ni_l2, "O K": _o_k, "Ru M": _ru_m}


# --------------------------------------------------------------------------- public API


def absorption(
    sample: Sample | str, energy: Any, incidence_angle_deg: Any, edge: str
) -> FloatArray:
    """Normalized X-ray absorption μ(E) of a sample at an incidence angle (PHYSICS.md §7).

    μ = I_ab·sin²θ + I_c·cos²θ, with θ from the surface and E in the
    scattering plane; the edge step is 1 above the edge and μ = 0 below it.
    The line shapes, the Ni²⁺ fractions and every assumed number are
    in the module docstring. A sample without the element (CRO at Ni L2,
    LNO at Ru M) gives μ = 0.

    Parameters
    ----------
    sample : Sample or str
        A :class:`~sloxide.model.samples.Sample` or its name in ``SAMPLES``.
    energy : array_like
        Photon energy in eV.
    incidence_angle_deg : array_like
        θ in degrees from the surface (90° measures I_ab; 30° is the
        paper's grazing angle). Broadcast against ``energy``, e.g. shape
        (k, 1) for k spectra.
    edge : {"Ni L2", "O K", "Ru M"}
        The edge (case-insensitive; "Ru M2,3" is accepted).

    Returns
    -------
    numpy.ndarray
        μ, dimensionless (in units of the edge step), with the broadcast
        shape of ``energy`` and ``incidence_angle_deg``.

    Raises
    ------
    SloxideError
        For an unknown sample or edge.

    Examples
    --------
    The C2/L2 XLD pair at the Ni L2 edge, with the negative XLD of
    d(x²−y²) holes [P]:

    >>> from sloxide.model.spectra import EDGES, absorption
    >>> e = EDGES["Ni L2"].energies()
    >>> mu = absorption("C2/L2", e, [[90.0], [30.0]], "Ni L2")
    >>> mu.shape
    (2, 231)
    >>> mu[:, [0, -1]].round(6) + 0.0
    array([[0., 1.],
           [0., 1.]])
    >>> bool((mu[0] - mu[1]).sum() < 0)
    True

    Bare CRO has no Ni:

    >>> float(abs(absorption("CRO", e, 90.0, "Ni L2")).max())
    0.0
    """
    s = _sample(sample)
    spec = _edge(edge)
    e = np.asarray(energy, dtype=float)
    i_ab, i_c = _COMPONENTS[spec.name](s, e)
    angle = np.asarray(incidence_angle_deg, dtype=float)
    # I(θ) = I_ab·sin²θ + I_c·cos²θ, θ from the surface, E in the scattering plane (§4).
    theta = np.deg2rad(angle)
    return np.asarray(i_ab * np.sin(theta) ** 2 + i_c * np.cos(theta) ** 2, dtype=float)


def tey(
    sample: Sample | str,
    energy: Any,
    incidence_angle_deg: Any,
    edge: str,
    *,
    i0: Any = 1.0,
    step: float = TEY_STEP,
    background: tuple[float, float] = (0.1, 0.002),
) -> FloatArray:
    """Total-electron-yield (TEY) signal: i0·(background(E) + step·μ(E)), noise-free.

    The pre-edge background is linear in E, offset + slope·(E − E_start),
    with E_start the start of the edge's scan range (``EDGES[edge].start_eV``)
    [A]. At Ni L2, TEY/i0 normalized with the §4 windows (``EDGES["Ni L2"]``
    ``pre_eV``, ``norm_eV``) gives back μ of :func:`absorption` with an edge
    step of ``step``. Works point by point or on a whole scan.

    Parameters
    ----------
    sample : Sample or str
        A :class:`~sloxide.model.samples.Sample` or its name.
    energy : array_like
        Photon energy in eV.
    incidence_angle_deg : array_like
        θ in degrees from the surface, broadcast against ``energy``.
    edge : {"Ni L2", "O K", "Ru M"}
        The edge.
    i0 : array_like, default 1.0
        Incident flux monitor I0 (any current unit; the TEY comes out in
        the same unit), broadcast against ``energy``.
    step : float, default 0.35
        Edge step per unit i0 [A].
    background : (float, float), default (0.1, 0.002)
        Offset at E_start and slope per eV of the background, per unit i0 [A].

    Returns
    -------
    numpy.ndarray
        TEY in the units of ``i0``, with the broadcast shape of ``energy``,
        ``incidence_angle_deg`` and ``i0``.

    Raises
    ------
    SloxideError
        For an unknown sample or edge.

    Examples
    --------
    >>> from sloxide.model.spectra import tey
    >>> tey("C10/L6", [862.0, 885.0], 90.0, "Ni L2").round(4)
    array([0.1  , 0.496])
    >>> float(tey("C10/L6", 862.0, 90.0, "Ni L2", i0=2.0).round(4))
    0.2
    """
    e = np.asarray(energy, dtype=float)
    offset, slope = background
    mu = absorption(sample, e, incidence_angle_deg, edge)
    base = offset + slope * (e - _edge(edge).start_eV)
    return np.asarray(np.asarray(i0, dtype=float) * (base + step * mu), dtype=float)


def add_noise(
    signal: Any, step: Any, rng: np.random.Generator, level: float = TEY_NOISE
) -> FloatArray:
    """Add the Gaussian TEY noise of PHYSICS.md §7: standard deviation ``level``·|step|.

    Parameters
    ----------
    signal : array_like
        A noise-free signal, e.g. from :func:`tey`.
    step : array_like
        The edge step in the units of ``signal`` (for :func:`tey`,
        ``i0 * step``), broadcast against it.
    rng : numpy.random.Generator
        The caller's seeded generator.
    level : float, default 0.001
        Noise as a fraction of the step (0.1 % [A]).

    Returns
    -------
    numpy.ndarray
        The noisy signal, with the broadcast shape of ``signal`` and ``step``.

    Raises
    ------
    SloxideError
        If ``level`` is negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.model.spectra import add_noise
    >>> noisy = add_noise(np.zeros(100_000), 0.35, np.random.default_rng(0))
    >>> round(float(noisy.std() / 0.35), 4)
    0.001
    """
    if not (math.isfinite(level) and level >= 0):
        raise SloxideError(f"the noise level must be a finite fraction ≥ 0, got {level!r}")
    s = np.asarray(signal, dtype=float)
    sd = level * np.abs(np.asarray(step, dtype=float))
    shape = np.broadcast_shapes(s.shape, sd.shape)
    return np.asarray(s + sd * rng.standard_normal(shape), dtype=float)


class IncidentFlux:
    """The incident flux I0 of a beamline: nominal·(1 + drift)·(1 + fluctuation), seeded.

    Each :meth:`reading` advances a slow drift d, a mean-reverting (Ornstein–Uhlenbeck)
    random walk d_k+1 = a·d_k + ``drift``·√(1 − a²)·ξ with a = exp(−1/``correlation``),
    which keeps its r.m.s. at ``drift``, and multiplies an independent reading-to-reading
    ``fluctuation`` on top (module constants ``I0_DRIFT``, ``I0_DRIFT_READINGS``,
    ``I0_FLUCTUATION``, all [A]).

    Parameters
    ----------
    rng : numpy.random.Generator
        The caller's seeded generator (the drift starts from a draw of it).
    fluctuation : float, default I0_FLUCTUATION (0.5 %)
        Relative r.m.s. fluctuation of one reading.
    drift : float, default I0_DRIFT (2 %)
        Relative r.m.s. of the slow drift.
    correlation : float, default I0_DRIFT_READINGS (200)
        Readings over which the drift decorrelates (by 1/e).

    Examples
    --------
    >>> import numpy as np
    >>> from sloxide.model.spectra import IncidentFlux
    >>> flux = IncidentFlux(np.random.default_rng(0))
    >>> i0 = np.array([flux.reading(1.0) for _ in range(20_000)])
    >>> round(float(i0.mean()), 2), bool(0.01 < i0.std() < 0.03)
    (1.0, True)
    >>> steps = np.diff(i0)  # reading to reading: the fluctuation, √2·0.5 %
    >>> round(float(steps.std() / np.sqrt(2)), 3)
    0.005
    >>> IncidentFlux(np.random.default_rng(0), fluctuation=0.0, drift=0.0).reading(2.0)
    2.0
    """

    def __init__(
        self,
        rng: np.random.Generator,
        fluctuation: float = I0_FLUCTUATION,
        drift: float = I0_DRIFT,
        correlation: float = I0_DRIFT_READINGS,
    ) -> None:
        for label, value in (("fluctuation", fluctuation), ("drift", drift)):
            if not (math.isfinite(value) and value >= 0):
                raise SloxideError(f"the I0 {label} must be a finite fraction ≥ 0, got {value!r}")
        if not (math.isfinite(correlation) and correlation > 0):
            raise SloxideError(
                f"the I0 drift correlation must be a positive number of readings, got "
                f"{correlation!r}"
            )
        self.rng = rng
        self.fluctuation = fluctuation
        self.drift = drift
        self._keep = math.exp(-1.0 / correlation)
        self.state = drift * float(rng.standard_normal())

    def reading(self, nominal: float) -> float:
        """The next I0 reading, in the units of ``nominal`` (the flux without drift)."""
        kick = self.drift * math.sqrt(1.0 - self._keep**2) * float(self.rng.standard_normal())
        self.state = self._keep * self.state + kick
        jitter = self.fluctuation * float(self.rng.standard_normal())
        return float(nominal * (1.0 + self.state) * (1.0 + jitter))
