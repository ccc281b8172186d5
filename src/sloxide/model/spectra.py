"""X-ray absorption of the samples at the Ni L2, O K and Ru M2,3 edges (PHYSICS.md §4, §7).

:func:`absorption` gives the normalized absorption μ(E), edge step 1 above
the edge, seen at an incidence angle θ from the surface with E in the
scattering plane: I(θ) = I_ab·sin²θ + I_c·cos²θ. The linear dichroism
D = I_ab − I_c enters as I_ab = iso + D/3 and I_c = iso − 2D/3, so the
isotropic spectrum (2·I_ab + I_c)/3 does not depend on it. :func:`tey` turns
μ into the total-electron-yield (TEY) signal a beamline records, and
:func:`add_noise` adds its noise (0.1 % of the edge step).

Ni L2 (PHYSICS.md §7 "XAS")
---------------------------
White lines of area-normalized Gaussians G(centre, FWHM) on the common erf
step of the analysis (:func:`sloxide.analysis.xld.edge_step_function` at
``NI_L2_STEP_CENTER`` = 870.6 eV, width ``NI_L2_STEP_WIDTH`` = 0.8 eV), so
:func:`~sloxide.analysis.xld.orbital_polarization` subtracts exactly the
model's step::

    iso = A·[x·2·(w·G(870.2, 0.9) + (1 − w)·G(871.2, 1.0)) + (1 − x)·1.6·G(871.6, 1.5)] + step

* A = ``NI_L2_WHITE_LINE_SCALE`` = 3 [A]: the white line peaks at 2.7–3.8 ×
  the unit step (LNO to C10/L2). On the L2-only normalization of §4 (pre-edge line on the
  L3 tail) the L2 step is about a third of the whole L2,3 jump, so a peak
  several times the step is what measured spectra show.
* w = ``NI2_LOW_PEAK_FRACTION`` = 0.6 [A]: the part of the Ni²⁺ doublet's
  area in its 870.2 eV peak (§7 gives centres and widths only).
* x is the Ni²⁺ fraction of the sample. It is calibrated, not taken from the
  table directly: x is chosen so that the two-Gaussian fit
  :func:`sloxide.analysis.xas.ni_valence` of the noise-free isotropic
  spectrum on the ``EDGES["Ni L2"]`` grid returns the table's
  I_a/(I_a + I_b) (``Sample.valence_ratio``). The fit's ratio is computed
  once for 101 values of x in [0, 1] (on first use, cached) and inverted by
  linear interpolation. The fit then returns the table's ratio within 1e-4
  on that 0.1 eV grid, and within 0.005 on 0.05–0.2 eV grids (the fit
  itself depends slightly on the sampling).

  Why A and w are not smaller: the fit's linear background cannot follow the
  erf step under its window, which moves area from peak a into the broad
  peak b. With A = 1 and w = 0.5 even pure Ni²⁺ (x = 1) fits as 0.22, and
  with A = 2 as 0.34, below the table's 0.30–0.45; with A = 3, w = 0.6 the
  fit spans 0–0.48.

The dichroism D ∝ G(871.4, 1.3) has ∫D = 3·A_iso·(1 − r)/(r + 2), with
A_iso the white-line area of iso and r = ∫I_c/∫I_ab from the sample's
orbital polarization P (:func:`~sloxide.analysis.xld.hole_ratio_from_polarization`,
n_eg = 1): C2/L2 has P = 0.19 [P], so r = 1.0981; the others P = 0.10 [A].
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
import xarray as xr
from numpy.typing import NDArray
from scipy.special import ndtr

from ..analysis.xas import ni_valence
from ..analysis.xld import (
    NI_L2_STEP_CENTER,
    NI_L2_STEP_WIDTH,
    O_K_BANDS,
    edge_step_function,
    hole_ratio_from_polarization,
    incidence_intensity,
)
from ..errors import SloxideError
from .samples import SAMPLES, Sample

__all__ = [
    "Edge",
    "EDGES",
    "NI_L2_WHITE_LINE_SCALE",
    "NI2_LOW_PEAK_FRACTION",
    "O_K_STEP_CENTER",
    "O_K_RU_EG_WEIGHT",
    "O_K_XLD",
    "RU_M_SL_SHIFT",
    "absorption",
    "tey",
    "add_noise",
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

# Ni L2 white lines [P: centres; A: widths], eV: Ni²⁺ doublet, Ni³⁺ line, dichroism.
_NI2_LINES = ((870.2, 0.9), (871.2, 1.0))
_NI3_LINE = (871.6, 1.5)
_NI3_WEIGHT = 1.6
_NI_XLD_LINE = (871.4, 1.3)
#: White-line scale A over the unit edge step (module docstring) [A].
NI_L2_WHITE_LINE_SCALE = 3.0
#: Part w of the Ni²⁺ doublet's area in its 870.2 eV peak [A].
NI2_LOW_PEAK_FRACTION = 0.6
# Ni²⁺ fractions of the valence calibration table.
_CALIBRATION_POINTS = 101

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


@functools.cache
def _valence_calibration(scale: float, split: float) -> tuple[FloatArray, FloatArray]:
    """(fitted I_a/(I_a + I_b), Ni²⁺ fraction x): increasing tables of the two-Gaussian fit."""
    energy = EDGES["Ni L2"].energies()
    fractions = np.linspace(0.0, 1.0, _CALIBRATION_POINTS)
    iso = _ni_white_line(energy, fractions[:, None], scale, split)
    iso = iso + edge_step_function(energy, NI_L2_STEP_CENTER, NI_L2_STEP_WIDTH)
    spectra = xr.DataArray(
        iso,
        dims=("fraction", "energy"),
        coords={"energy": ("energy", energy, {"units": "eV"})},
        attrs={"units": "1"},
    )
    ratio = np.asarray(ni_valence(spectra).ratio.values, dtype=float)
    # Near x = 0 the fit pins area a at 0: keep the increasing part above the last zero.
    first = int(np.flatnonzero(ratio <= 1e-9).max(initial=0))
    ratio, fractions = ratio[first:], fractions[first:]
    if not np.all(np.diff(ratio) > 0):
        raise RuntimeError(
            "the Ni L2 valence calibration is not monotonic in the Ni2+ fraction; check "
            "NI_L2_WHITE_LINE_SCALE and NI2_LOW_PEAK_FRACTION"
        )
    return ratio, fractions


def _ni2_fraction(valence_ratio: float) -> float:
    """The Ni²⁺ fraction x whose isotropic spectrum fits to ``valence_ratio``."""
    ratio, fractions = _valence_calibration(NI_L2_WHITE_LINE_SCALE, NI2_LOW_PEAK_FRACTION)
    return float(np.interp(valence_ratio, ratio, fractions))


def _ni_l2(sample: Sample, energy: FloatArray) -> tuple[FloatArray, FloatArray]:
    if not sample.has_nickel:
        zero = np.zeros_like(energy)
        return zero, zero
    scale, split = NI_L2_WHITE_LINE_SCALE, NI2_LOW_PEAK_FRACTION
    x = _ni2_fraction(sample.valence_ratio)
    area_iso = scale * (2.0 * x + _NI3_WEIGHT * (1.0 - x))
    _, r = hole_ratio_from_polarization(sample.orbital_polarization, n_eg=1.0)
    # ∫I_c/∫I_ab = (A − 2∫D/3)/(A + ∫D/3) = r  ⇔  ∫D = 3A(1 − r)/(r + 2)  (PHYSICS.md §7).
    dichroism = 3.0 * area_iso * (1.0 - r) / (r + 2.0) * _gaussian(energy, *_NI_XLD_LINE)
    iso = _ni_white_line(energy, x, scale, split)
    iso = iso + edge_step_function(energy, NI_L2_STEP_CENTER, NI_L2_STEP_WIDTH)
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
    iso = edge_step_function(energy, O_K_STEP_CENTER, _O_K_STEP_WIDTH)
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
        mu = mu + edge_step_function(energy, centre + shift, _RU_M_STEP_WIDTH, step)
    return mu, mu


_COMPONENTS = {"Ni L2": _ni_l2, "O K": _o_k, "Ru M": _ru_m}


# --------------------------------------------------------------------------- public API


def absorption(
    sample: Sample | str, energy: Any, incidence_angle_deg: Any, edge: str
) -> FloatArray:
    """Normalized X-ray absorption μ(E) of a sample at an incidence angle (PHYSICS.md §7).

    μ = I_ab·sin²θ + I_c·cos²θ, with θ from the surface and E in the
    scattering plane; the edge step is 1 above the edge and μ = 0 below it.
    The line shapes, the Ni²⁺/Ni³⁺ calibration and every assumed number are
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
    return np.asarray(incidence_intensity(i_ab, i_c, angle), dtype=float)


def tey(
    sample: Sample | str,
    energy: Any,
    incidence_angle_deg: Any,
    edge: str,
    *,
    i0: Any = 1.0,
    step: float = 0.35,
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
    signal: Any, step: Any, rng: np.random.Generator, level: float = 0.001
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
