"""The ``.sloxide`` accessor on ``xarray.Dataset`` and ``xarray.DataArray``.

Each method resolves its variables, calls one typed function of
:mod:`sloxide.analysis`, and returns that function's Dataset. Variables are
found in this order (DESIGN.md, "Data contract"):

1. an explicit argument (a variable name or a DataArray);
2. a variable whose ``quantity`` attr matches;
3. the canonical name (``field``, ``R_xy``, ``rho_xx``, ``moment``, ...).

Hall-bar geometry and the sample thickness come from arguments, else from
the run context in ``ds.attrs["sloxide"]`` that the plans write.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr

from .analysis import (
    amr,
    hall,
    hysteresis,
    loops,
    magnetization,
    mr,
    resistivity,
    scaling,
    valence,
    xas,
    xld,
)
from .analysis.xld import NI_L2_STEP_CENTER, NI_L2_STEP_WIDTH, NI_L2_WINDOW
from .errors import DataError, MissingVariableError
from .units import check_units, dequantify, units_of

__all__ = ["SloxideDatasetAccessor", "SloxideDataArrayAccessor"]

Variable = str | xr.DataArray | None


def _context(ds: xr.Dataset) -> Mapping[str, Any]:
    ctx = ds.attrs.get("sloxide")
    return ctx if isinstance(ctx, Mapping) else {}


def _nested(ctx: Mapping[str, Any], section: str, key: str) -> Any:
    part = ctx.get(section)
    return part.get(key) if isinstance(part, Mapping) else None


def _check_units(expected: Mapping[str, tuple[xr.DataArray | None, str]]) -> None:
    """:func:`check_units`, naming each input as the Dataset does (``cryostat_field``,
    ``R_xx``), so that the fix the error suggests points at a variable that exists."""
    check_units(
        {
            (str(da.name) if da is not None and da.name is not None else key): (da, units)
            for key, (da, units) in expected.items()
        }
    )


@xr.register_dataset_accessor("sloxide")
class SloxideDatasetAccessor:
    """Reductions of sloxide runs: ``ds.sloxide.ahe()``, ``ds.sloxide.mr()``, ...

    Every method works with zero arguments on what ``sloxide.io.read_run``
    returns, and on any Dataset that uses the canonical variable names (or
    ``quantity`` attrs) with ``units`` attrs or pint-backed data.
    """

    def __init__(self, ds: xr.Dataset) -> None:
        # Never validate here: xarray turns an AttributeError into a RuntimeError.
        self._ds = ds

    # ------------------------------------------------------------------ lookup

    def _names(self) -> list[str]:
        return [str(name) for name in self._ds.variables]

    def _find(
        self, quantity: str, explicit: Variable = None, *, argument: str | None = None
    ) -> xr.DataArray | None:
        ds = self._ds
        if isinstance(explicit, xr.DataArray):
            return explicit.rename(explicit.name or quantity)
        if explicit is not None:
            if explicit not in ds.variables:
                raise MissingVariableError(str(explicit), argument or quantity, self._names())
            return ds[explicit]
        names: list[Hashable] = [*ds.data_vars, *ds.coords]
        for name in names:
            if ds[name].attrs.get("quantity") == quantity:
                return ds[name]
        if quantity in ds.variables:
            return ds[quantity]
        return None

    def _require(
        self,
        quantity: str,
        explicit: Variable = None,
        *,
        argument: str | None = None,
        alternatives: tuple[str, ...] = (),
    ) -> xr.DataArray:
        found = self._find(quantity, explicit, argument=argument)
        if found is None:
            raise MissingVariableError(quantity, argument or quantity, self._names(), alternatives)
        return found

    def _geometry(self, value: Any, section: str, key: str, units: str, argument: str) -> Any:
        if value is not None:
            return value
        if argument in self._ds.variables:
            return self._ds[argument]
        found = _nested(_context(self._ds), section, key)
        if found is None:
            raise MissingVariableError(
                argument,
                argument,
                self._names(),
                alternatives=(f"ds.attrs['sloxide'][{section!r}][{key!r}] in {units}",),
            )
        return found

    def _sweep_dim(self, field: xr.DataArray, dim: str | None) -> str:
        if dim is not None:
            return dim
        if field.ndim == 1:
            return str(field.dims[0])
        for sweep in ("time", "point"):  # a single run, or runs stacked by read_runs
            if sweep in field.dims:
                return sweep
        raise DataError(
            f"the field has dims {field.dims}; say which one is the time-ordered sweep with dim="
        )

    def _resistivities(
        self, rho_xy: Variable, rho_xx: Variable, *, need_xy: bool
    ) -> tuple[xr.DataArray | None, xr.DataArray | None]:
        """ρ_xy and ρ_xx as found, or converted from R_xy and R_xx with the bar geometry."""
        xy = self._find("rho_xy", rho_xy, argument="rho_xy")
        xx = self._find("rho_xx", rho_xx, argument="rho_xx")
        R_xy = self._find("R_xy") if xy is None and need_xy else None
        R_xx = self._find("R_xx") if xx is None else None
        if xy is None and R_xy is None and need_xy:
            raise MissingVariableError("rho_xy", "rho_xy", self._names(), alternatives=("R_xy",))
        if R_xy is not None or R_xx is not None:
            converted = self.resistivity(R_xx=R_xx, R_xy=R_xy)
            xy = xy if xy is not None else converted.get("rho_xy")
            xx = xx if xx is not None else converted.get("rho_xx")
        return xy, xx

    def _binned(
        self,
        variables: dict[str, xr.DataArray | None],
        field: Variable,
        dim: str | None,
        step: Any,
        field_max: Any,
    ) -> dict[str, xr.DataArray]:
        """The variables on (branch, field), binning a raw sweep first."""
        present = {k: v.rename(k) for k, v in variables.items() if v is not None}
        if all("branch" in v.dims for v in present.values()):
            return present
        h = self._require("field", field, argument="field")
        _check_units(
            {"field": (h, "T"), **{k: (v, "any") for k, v in variables.items() if v is not None}}
        )
        sweep = xr.Dataset(present, attrs=self._ds.attrs)
        binned = loops.branches(
            sweep, h, dim=self._sweep_dim(h, dim), step=step, field_max=field_max
        )
        return {k: binned[k] for k in present}

    # ------------------------------------------------------------------ methods

    def resistivity(
        self,
        R_xx: Variable = None,
        R_xy: Variable = None,
        *,
        width: Any = None,
        length: Any = None,
        thickness: Any = None,
    ) -> xr.Dataset:
        """Resistivities ``rho_xx`` (mΩ·cm) and ``rho_xy`` (µΩ·cm) from the Hall-bar resistances.

        ρ_xx = R_xx·w·t/L and ρ_xy = R_xy·t (PHYSICS.md §0). See
        :func:`sloxide.analysis.resistivity.resistivity`.

        Parameters
        ----------
        R_xx, R_xy : str or xarray.DataArray, optional
            Default: the variables with quantity (or name) ``R_xx``/``R_xy``.
        width, length : float, Quantity or DataArray, optional
            Bar width and voltage-probe spacing (bare numbers in µm). Default:
            ``ds.attrs["sloxide"]["hall_bar"]["width_um"/"length_um"]``.
        thickness : float, Quantity or DataArray, optional
            Film thickness (bare numbers in nm). Default: a ``thickness``
            variable, else ``ds.attrs["sloxide"]["sample"]["thickness_nm"]``.

        Returns
        -------
        xarray.Dataset
            ``rho_xx`` and/or ``rho_xy``; on a run that measured the temperature
            beside the resistances (an R(T) sweep), that temperature rides along as
            a coordinate, so the result is ρ(T) wherever it is stored or sent.

        Examples
        --------
        >>> import xarray as xr, sloxide
        >>> ds = xr.Dataset({"R_xx": ((), 584.99, {"units": "ohm"})}, attrs={"sloxide": {
        ...     "hall_bar": {"width_um": 200, "length_um": 1200},
        ...     "sample": {"thickness_nm": 61.54}}})
        >>> float(ds.sloxide.resistivity().rho_xx)
        0.6000...
        >>> sweep = xr.Dataset({"R_xx": ("time", [584.99, 500.0], {"units": "ohm"}),
        ...                     "temperature": ("time", [300.0, 200.0], {"units": "K"})},
        ...                    attrs=ds.attrs)
        >>> sweep.sloxide.resistivity().rho_xx.temperature.values.tolist()
        [300.0, 200.0]
        """
        xx = self._find("R_xx", R_xx, argument="R_xx")
        xy = self._find("R_xy", R_xy, argument="R_xy")
        if xx is None and xy is None:
            raise MissingVariableError("R_xx", "R_xx", self._names(), alternatives=("R_xy",))
        _check_units({"R_xx": (xx, "ohm"), "R_xy": (xy, "ohm")})
        temperature = self._find("temperature")
        if temperature is not None and temperature.name not in self._ds.coords:
            # Only a temperature read along the resistances' own dims: a scalar
            # setpoint or another stream's clock would not describe each reading.
            def carried(r: xr.DataArray | None) -> xr.DataArray | None:
                if r is None or set(temperature.dims) != set(r.dims) or not r.dims:
                    return r
                return r.assign_coords({temperature.name: temperature})

            xx, xy = carried(xx), carried(xy)
        return resistivity.resistivity(
            xx,
            xy,
            width=self._geometry(width, "hall_bar", "width_um", "µm", "width"),
            length=self._geometry(length, "hall_bar", "length_um", "µm", "length"),
            thickness=self._geometry(thickness, "sample", "thickness_nm", "nm", "thickness"),
        )

    def branches(
        self,
        step: Any = None,
        *,
        field: Variable = None,
        dim: str | None = None,
        field_max: Any = None,
        start_fraction: float = 0.9,
    ) -> xr.Dataset:
        """Every swept variable on dims (``branch`` = up/down, ``field``), on a symmetric grid.

        See :func:`sloxide.analysis.loops.branches` for the rules (virgin
        sweep dropped, bins averaged, never extrapolated).

        Parameters
        ----------
        step : float or Quantity, optional
            Grid step (bare numbers in T); default the sweep's median step.
        field : str or xarray.DataArray, optional
            Default: the variable with quantity (or name) ``field``.
        dim : str, optional
            The time-ordered dim; default the field's only dim, or ``time``.
        field_max : float or Quantity, optional
            Largest |µ0H| of the grid (bare numbers in T).
        start_fraction : float, default 0.9
            How close to the field extreme a branch must start.

        Returns
        -------
        xarray.Dataset

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> h = np.concatenate([np.linspace(0, 1, 3), np.linspace(1, -1, 5)[1:], np.linspace(-1, 1, 5)[1:]])
        >>> ds = xr.Dataset({"field": ("time", h * 1e4, {"units": "Oe"}),
        ...                  "R_xy": ("time", np.tanh(3 * h), {"units": "ohm"})})
        >>> ds.sloxide.branches().R_xy.sizes
        Frozen({'branch': 2, 'field': 5})
        """
        h = self._require("field", field, argument="field")
        _check_units({"field": (h, "T")})
        swept = self._ds.drop_vars([h.name], errors="ignore") if h.name in self._ds else self._ds
        return loops.branches(
            swept,
            h,
            dim=self._sweep_dim(h, dim),
            step=step,
            field_max=field_max,
            start_fraction=start_fraction,
        )

    def ahe(
        self,
        rho_xy: Variable = None,
        rho_xx: Variable = None,
        *,
        field: Variable = None,
        dim: str | None = None,
        step: Any = None,
        field_max: Any = None,
        fit_min_field: Any = None,
        crossing_window: Any = 0.1,
        hall_sign: int | None = None,
        convention: Literal["paper", "tensor"] = "paper",
    ) -> xr.Dataset:
        """Anomalous Hall effect of a field loop (AHE: anomalous Hall effect).

        Takes a raw time-ordered sweep (binned first with :meth:`branches`)
        or binned branches. ``R_xy``/``R_xx`` are converted with
        :meth:`resistivity` when ``rho_*`` are absent. See
        :func:`sloxide.analysis.hall.anomalous_hall`.

        Parameters
        ----------
        rho_xy, rho_xx : str or xarray.DataArray, optional
            Default: ``rho_xy``/``rho_xx`` by quantity or name, else
            ``R_xy``/``R_xx`` converted. ρ_xx is optional (for σ_AHE).
        field : str or xarray.DataArray, optional
            µ0H of a raw sweep; any field units.
        dim, step, field_max
            Passed to :meth:`branches` for a raw sweep.
        fit_min_field : float or Quantity, optional
            Lower |µ0H| of the R0 fit (bare numbers in T); default half the
            largest field.
        crossing_window : float or Quantity, default 0.1
            Half-width (T) of the line fits for H_C and the remanence.
        hall_sign : {1, -1}, optional
            Lead polarity; default ``ds.attrs["sloxide"]["hall_bar"]["hall_sign"]``
            or +1.
        convention : {"paper", "tensor"}, default "paper"
            σ_AHE convention.

        Returns
        -------
        xarray.Dataset
            ``rho_ahe`` (branch, field), ``R0``, ``delta_rho_ahe``,
            ``coercive_field``, ``exchange_bias``, ``remanence``,
            ``squareness``, ``sigma_ahe``, ``carrier_density``,
            ``carrier_type``, ``rho_xx`` (zero field), with ``_stderr``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> h = np.r_[0:451, 449:-451:-1, -449:451] * 0.02  # 0 -> 9 -> -9 -> 9 T
        >>> up = np.r_[np.ones(451), -np.ones(900), np.ones(900)]
        >>> m = np.tanh((h - up * 0.97) / 0.659)
        >>> ds = xr.Dataset({"field": ("time", h, {"units": "T"}),
        ...                  "rho_xy": ("time", 0.02 * h + 0.03 * m, {"units": "uohm*cm"})})
        >>> out = ds.sloxide.ahe()
        >>> round(float(out.delta_rho_ahe), 4), round(float(out.coercive_field), 2)
        (0.03, 0.97)
        """
        xy, xx = self._resistivities(rho_xy, rho_xx, need_xy=True)
        binned = self._binned({"rho_xy": xy, "rho_xx": xx}, field, dim, step, field_max)
        if hall_sign is None:
            hall_sign = int(_nested(_context(self._ds), "hall_bar", "hall_sign") or 1)
        return hall.anomalous_hall(
            binned["rho_xy"],
            binned.get("rho_xx"),
            fit_min_field=fit_min_field,
            crossing_window=crossing_window,
            hall_sign=hall_sign,
            convention=convention,
        )

    def mr(
        self,
        rho_xx: Variable = None,
        *,
        field: Variable = None,
        dim: str | None = None,
        step: Any = None,
        field_max: Any = None,
        peak_max_field: Any = None,
        peak_window: Any = None,
    ) -> xr.Dataset:
        """Magnetoresistance (MR) of a field loop, in % per symmetrized branch.

        See :func:`sloxide.analysis.mr.magnetoresistance`.

        Parameters
        ----------
        rho_xx : str or xarray.DataArray, optional
            Default: ``rho_xx`` by quantity or name, else ``R_xx`` converted.
        field, dim, step, field_max
            Passed to :meth:`branches` for a raw sweep.
        peak_max_field : float or Quantity, optional
            Search the butterfly peaks within this |µ0H| (bare numbers in T).
        peak_window : float or Quantity, optional
            Half-width (T) of the parabola around each peak; default 0.1 T, or
            two grid steps on a coarser grid.

        Returns
        -------
        xarray.Dataset
            ``mr`` (branch, field) in %, ``peak_field`` (branch) in T,
            ``peak_mr`` in %, ``mr_max_field`` in % and ``max_field`` in T.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> h = np.r_[0:451, 449:-451:-1, -449:451] * 0.02
        >>> ds = xr.Dataset({"field": ("time", h, {"units": "T"}),
        ...                  "rho_xx": ("time", 0.6 * (1 - 1e-3 * np.abs(h)), {"units": "mohm*cm"})})
        >>> round(float(ds.sloxide.mr().mr_max_field), 3)
        -0.9
        """
        # MR is a ratio: R_xx serves as well as ρ_xx, without the bar geometry.
        xx = self._find("rho_xx", rho_xx, argument="rho_xx")
        xx = xx if xx is not None else self._find("R_xx")
        if xx is None:
            raise MissingVariableError("rho_xx", "rho_xx", self._names(), alternatives=("R_xx",))
        binned = self._binned({"rho_xx": xx}, field, dim, step, field_max)
        return mr.magnetoresistance(
            binned["rho_xx"], peak_max_field=peak_max_field, peak_window=peak_window
        )

    def ahe_scaling(
        self,
        delta_rho_ahe: Variable = None,
        rho_xx: Variable = None,
        *,
        dim: str = "temperature",
        model: Literal["paper", "intercept", "linear"] = "paper",
        temperature_range: Any = (2.0, 20.0),
        magnetization: Variable = None,
    ) -> xr.Dataset:
        """Scaling of Δρ_AHE with ρ_xx² over a temperature series (AHE: anomalous Hall effect).

        Works directly on a temperature stack of :meth:`ahe` results, which
        hold ``delta_rho_ahe`` and the zero-field ``rho_xx``. See
        :func:`sloxide.analysis.scaling.anomalous_hall_scaling`.

        Parameters
        ----------
        delta_rho_ahe, rho_xx : str or xarray.DataArray, optional
            Default: the variables of those quantities or names.
        dim : str, default "temperature"
        model : {"paper", "intercept", "linear"}, default "paper"
        temperature_range : (float, float) or None, default (2, 20)
            Fit range (bare numbers in K).
        magnetization : str or xarray.DataArray, optional
            M(T) to normalize Δρ_AHE by M/M(T_min).

        Returns
        -------
        xarray.Dataset
            ``sigma_ah`` (S/cm), ``intercept``/``linear_term`` where fitted,
            each with ``_stderr``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> t = np.arange(2.0, 22.0, 2.0)
        >>> rho = 0.38 + 1e-4 * t**2
        >>> ds = xr.Dataset({"delta_rho_ahe": ("temperature", 0.19 * rho**2, {"units": "uohm*cm"}),
        ...                  "rho_xx": ("temperature", rho, {"units": "mohm*cm"})},
        ...                 coords={"temperature": ("temperature", t, {"units": "K"})})
        >>> round(float(ds.sloxide.ahe_scaling().sigma_ah), 6)
        0.19
        """
        drho = self._require("delta_rho_ahe", delta_rho_ahe, argument="delta_rho_ahe")
        xx = self._require("rho_xx", rho_xx, argument="rho_xx")
        m = self._find("moment", magnetization) if magnetization is not None else None
        _check_units({"delta_rho_ahe": (drho, "uohm*cm"), "rho_xx": (xx, "mohm*cm")})
        return scaling.anomalous_hall_scaling(
            drho,
            xx,
            dim=dim,
            model=model,
            temperature_range=temperature_range,
            magnetization=m,
        )

    def hysteresis(
        self,
        moment: Variable = None,
        *,
        field: Variable = None,
        dim: str | None = None,
        step: Any = None,
        field_max: Any = None,
        fit_min_field: Any = None,
        crossing_window: Any = 0.1,
    ) -> xr.Dataset:
        """M(H) hysteresis loop of a VSM or SQUID run, or an imported MultiVu file.

        Takes a raw time-ordered sweep (binned first with :meth:`branches`) or
        binned branches; removes the linear high-field background. See
        :func:`sloxide.analysis.hysteresis.hysteresis`.

        Parameters
        ----------
        moment : str or xarray.DataArray, optional
            Default: the variable of quantity or name ``moment``.
        field : str or xarray.DataArray, optional
            µ0H of a raw sweep; any field units (T, Oe).
        dim, step, field_max
            Passed to :meth:`branches` for a raw sweep.
        fit_min_field : float or Quantity, optional
            Lower |µ0H| of the background fit (bare numbers in T); default half
            the largest field.
        crossing_window : float or Quantity, default 0.1
            Half-width (T) of the line fits at the crossings and at zero field.

        Returns
        -------
        xarray.Dataset
            ``coercive_field``, ``exchange_bias``, ``remanence``,
            ``saturation_moment``, ``background_slope``, ``squareness``,
            ``moment_corrected`` (branch, field), with ``_stderr``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> h = np.r_[0:251, 249:-251:-1, -249:251] * 200.0  # 0 -> 5 -> -5 -> 5 T, in Oe
        >>> up = np.r_[np.ones(251), -np.ones(500), np.ones(500)]
        >>> m = 3e-5 * np.tanh((h - up * 3000) / 1000) + 2e-10 * h
        >>> ds = xr.Dataset({"field": ("time", h, {"units": "Oe"}),
        ...                  "moment": ("time", m, {"units": "emu"})})
        >>> out = ds.sloxide.hysteresis()
        >>> round(float(out.coercive_field), 3), float(out.saturation_moment)
        (0.3, 3e-05)
        """
        m = self._require("moment", moment, argument="moment")
        binned = self._binned({"moment": m}, field, dim, step, field_max)
        return hysteresis.hysteresis(
            binned["moment"], fit_min_field=fit_min_field, crossing_window=crossing_window
        )

    def curie_temperature(
        self,
        moment: Variable = None,
        temperature: Variable = None,
        *,
        dim: str | None = None,
        subtract_background: bool = True,
        fit_min_temperature: Any = None,
        window: Any = 5.0,
    ) -> xr.Dataset:
        """Curie temperature by the tangent method.

        Right on a raw film-on-substrate M(T) by default: the substrate background
        is fitted on the warmest third of the sweep and subtracted first; a T_c
        that cannot be trusted is NaN with a warning that says why. See
        :func:`sloxide.analysis.magnetization.curie_temperature`.

        Parameters
        ----------
        moment : str or xarray.DataArray, optional
            Default: the variable with quantity (or name) ``moment``.
        temperature : str or xarray.DataArray, optional
            Default: a ``temperature`` dim coordinate, else the
            ``temperature`` variable along the moment's sweep dim.
        dim : str, optional
            The sweep dim; default ``temperature`` if it is a dim, else the
            moment's only dim.
        subtract_background : bool, default True
            Fit and subtract the substrate background χ_d·H + C·H/T above
            ``fit_min_temperature`` first; False for a curve without one that
            does not reach well above T_c (σ_AH(T), Δρ(T)).
        fit_min_temperature : float or Quantity, optional
            Lower bound (K) of the background fit; default the warmest third of
            the sweep.
        window : float or Quantity, default 5
            Half-width (K) of the tangent fit.

        Returns
        -------
        xarray.Dataset
            ``Tc``, ``Tc_stderr`` and ``T_inflection`` in K, ``tangent_slope``.

        Warns
        -----
        SloxideWarning
            When T_c is refused (NaN), with the reason and what to pass.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> t = np.arange(150.0, 1.0, -1.0)  # a cooling sweep
        >>> ds = xr.Dataset({"temperature": ("time", t, {"units": "K"}),
        ...                  "moment": ("time", np.clip((75 - t) / 35, 0, 1), {"units": "emu"})})
        >>> round(float(ds.sloxide.curie_temperature().Tc), 2)
        75.0
        """
        m = self._require("moment", moment, argument="moment")
        if dim is None:
            if "temperature" in m.dims:
                dim = "temperature"
            elif m.ndim == 1:
                dim = str(m.dims[0])
            else:
                raise DataError(f"the moment has dims {m.dims}; say which is the sweep with dim=")
        t = self._find("temperature", temperature, argument="temperature")
        if t is not None and dim not in t.dims:
            t = None if dim == "temperature" else t
        if t is None and dim not in self._ds.coords:
            raise MissingVariableError("temperature", "temperature", self._names())
        _check_units({"moment": (m, "any"), "temperature": (t, "K")})
        return magnetization.curie_temperature(
            m,
            t,
            dim=dim,
            window=window,
            subtract_background=subtract_background,
            fit_min_temperature=fit_min_temperature,
        )

    # ------------------------------------------------------------------ rotations

    def _rotation(
        self, signal: Variable, angle: Variable, dim: str | None
    ) -> tuple[xr.DataArray, xr.DataArray | None, str]:
        """The AMR signal, explicit angles (or None for the coordinate) and the angle dim."""
        y = self._find("rho_xx", signal, argument="signal")
        y = y if y is not None else self._find("R_xx")
        if y is None:
            raise MissingVariableError("rho_xx", "signal", self._names(), alternatives=("R_xx",))
        theta = self._find("angle", angle, argument="angle")
        if dim is None:
            if theta is not None and theta.ndim == 1:
                dim = str(theta.dims[0])
            elif "angle" in y.dims:
                dim = "angle"
            else:
                raise MissingVariableError("angle", "angle", self._names())
        if theta is not None and (theta.name == dim or dim not in theta.dims):
            theta = None  # the dim coordinate itself
        _check_units({"signal": (y, "any"), "angle": (theta, "deg")})
        return y, theta, dim

    def amr(
        self,
        signal: Variable = None,
        *,
        angle: Variable = None,
        dim: str | None = None,
        reference: Literal["max", "mean", "theta0"] = "max",
    ) -> xr.Dataset:
        """AMR (anisotropic magnetoresistance) in %: (R_θ − R_ref)/R_ref × 100.

        See :func:`sloxide.analysis.amr.amr`.

        Parameters
        ----------
        signal : str or xarray.DataArray, optional
            Default: ``rho_xx``, else ``R_xx`` (by quantity or name).
        angle : str or xarray.DataArray, optional
            Default: the variable with quantity (or name) ``angle``: the
            rotation's readback along the scan dim, or the ``angle`` coordinate.
        dim : str, optional
            The rotation dim; default the angle's dim.
        reference : {"max", "mean", "theta0"}, default "max"
            The paper uses R_max.

        Returns
        -------
        xarray.Dataset
            ``amr`` in %.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> theta = np.arange(0.0, 360.0, 10.0)
        >>> ds = xr.Dataset({"angle": ("time", theta, {"units": "deg"}),
        ...                  "R_xx": ("time", 100 - 0.15 * np.cos(np.deg2rad(2 * theta)), {"units": "ohm"})})
        >>> round(float(ds.sloxide.amr().amr.min()), 4)
        -0.2996
        """
        y, theta, dim = self._rotation(signal, angle, dim)
        return amr.amr(y, theta, dim=dim, reference=reference)

    def amr_harmonics(
        self,
        signal: Variable = None,
        *,
        angle: Variable = None,
        dim: str | None = None,
        harmonics: tuple[int, ...] = (2, 4),
        convention: Literal["signed", "positive"] = "signed",
        reference: Literal["auto", "max", "mean", "theta0"] | None = "auto",
        fit: bool = False,
    ) -> xr.Dataset:
        """Harmonics c0 + Σ c_k·cos(kθ − ω_k) of AMR rotations (AMR: anisotropic magnetoresistance).

        As in the paper, the AMR in % (relative to ``reference``) is fitted,
        so ``c`` is in %; ``reference=None`` fits the signal in its own units.
        See :func:`sloxide.analysis.amr.amr_harmonics`.

        Parameters
        ----------
        signal, angle, dim
            As in :meth:`amr`.
        harmonics : tuple of int, default (2, 4)
        convention : {"signed", "positive"}, default "signed"
            "signed" keeps ω_k within ±90° so c_k carries the sign.
        reference : {"auto", "max", "mean", "theta0"} or None, default "auto"
            "auto" is "max" for a resistance or resistivity, None for a signal
            that is already an AMR in %.
        fit : bool, default False
            Also return the fitted model ``fit`` on the signal's grid.

        Returns
        -------
        xarray.Dataset
            ``c0``, ``c`` and ``omega`` (deg) on dim ``harmonic``, ``c_stderr``,
            ``omega_stderr``, ``residual_rms``, and ``fit`` with ``fit=True``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> theta = np.arange(0.0, 360.0, 5.0)
        >>> ds = xr.Dataset({"R_xx": ("angle", 100 - 0.15 * np.cos(np.deg2rad(2 * theta)), {"units": "ohm"})},
        ...                 coords={"angle": ("angle", theta, {"units": "deg"})})
        >>> out = ds.sloxide.amr_harmonics()
        >>> out.c.values.round(4) + 0.0
        array([-0.15,  0.  ])
        """
        y, theta, dim = self._rotation(signal, angle, dim)
        return amr.amr_harmonics(
            y,
            theta,
            dim=dim,
            harmonics=harmonics,
            convention=convention,
            reference=reference,
            fit=fit,
        )

    # ------------------------------------------------------------------ X-ray spectra

    def _spectra(
        self, mu: Variable, energy: Variable, dim: str | None
    ) -> tuple[xr.DataArray, str]:
        """μ = TEY/I0 (or the given variable) with the energy as its ``dim`` coordinate."""
        if mu is not None:
            y = self._require("mu", mu, argument="mu")
            _check_units({"mu": (y, "any")})  # named as the user knows it, before "mu"
        else:
            tey = self._require("tey", argument="mu", alternatives=("norm",))
            i0 = self._find("i0")
            _check_units({"tey": (tey, "any"), "i0": (i0, "any")})
            y = xas.absorption(tey, i0)
        return self._on_energy(y.rename("mu"), energy, dim)

    def _on_energy(
        self, y: xr.DataArray, energy: Variable, dim: str | None
    ) -> tuple[xr.DataArray, str]:
        e = self._find("energy", energy, argument="energy")
        if e is None:
            raise MissingVariableError("energy", "energy", self._names())
        _check_units({"energy": (e, "eV")})
        if e.name in y.dims:
            return y, str(e.name)
        if e.ndim != 1:
            raise DataError(
                f"the energy has dims {e.dims}; give the spectra one 1-D energy coordinate"
            )
        scan = dim or str(e.dims[0])
        # The readback energies become the coordinate the spectrum is indexed by.
        y = y.assign_coords(
            energy=(scan, np.asarray(dequantify(e).values), {"units": units_of(e)})
        )
        return y.swap_dims({scan: "energy"}), "energy"

    def normalize_xas(
        self,
        e0: Any = None,
        pre1: Any = None,
        pre2: Any = None,
        norm1: Any = None,
        norm2: Any = None,
        nnorm: int | None = None,
        *,
        mu: Variable = None,
        energy: Variable = None,
        dim: str | None = None,
        angle_dim: str = "incidence_angle",
    ) -> xr.Dataset:
        """Pre-edge subtraction and edge-step normalization, as larch's ``pre_edge`` (XAS: X-ray absorption spectroscopy).

        μ = TEY/I0 by default. Windows are larch's names and meanings, eV
        relative to e0. On an XLD pair (an ``incidence_angle`` dim) without an
        explicit e0, e0 is found once on the angle-averaged spectrum and
        shared, so both polarizations get the same e0 and windows. See
        :func:`sloxide.analysis.xas.normalize_xas`.

        Parameters
        ----------
        e0, pre1, pre2, norm1, norm2 : float or Quantity, optional
            Edge energy (eV) and windows (eV relative to e0).
        nnorm : int, optional
            Degree of the post-edge polynomial.
        mu, energy : str or xarray.DataArray, optional
            Default: TEY/I0 and the ``energy`` variable or coordinate.
        dim : str, optional
            The scan dim of a raw run (default the energy's dim).
        angle_dim : str, default "incidence_angle"

        Returns
        -------
        xarray.Dataset
            ``norm``, ``e0``, ``edge_step``, ``pre_edge``, ``post_edge`` and the
            windows used.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> from scipy.special import erf
        >>> e = np.arange(862.0, 885.0, 0.1)
        >>> ds = xr.Dataset({"energy": ("time", e, {"units": "eV"}),
        ...                  "tey": ("time", 0.35 * 0.5 * (1 + erf(e - 870.0)) + 0.1, {"units": "pA"}),
        ...                  "i0": ("time", np.ones_like(e), {"units": "pA"})})
        >>> out = ds.sloxide.normalize_xas(e0=870.0, pre1=-8, pre2=-3, norm1=9, norm2=15)
        >>> round(float(out.edge_step), 4)
        0.35
        """
        y, edim = self._spectra(mu, energy, dim)
        return xas.normalize_xas(
            y,
            dim=edim,
            e0=e0,
            pre1=pre1,
            pre2=pre2,
            norm1=norm1,
            norm2=norm2,
            nnorm=nnorm,
            shared_e0_dim=angle_dim,
        )

    def _normalized(self, norm: Variable, dim: str | None) -> tuple[xr.DataArray, str]:
        found = self._find("norm", norm, argument="norm")
        if found is not None:
            _check_units({"norm": (found, "any")})  # named as in the Dataset
            return self._on_energy(found, None, dim)
        out = self.normalize_xas(dim=dim)
        return out["norm"], "energy"

    def xld(
        self,
        norm: Variable = None,
        *,
        dim: str | None = None,
        angle_dim: str = "incidence_angle",
        geometry_correction: bool = True,
    ) -> xr.Dataset:
        """I_ab, I_c, iso and XLD = I_ab − I_c of an XLD pair (XLD: X-ray linear dichroism).

        Uses ``norm`` if present, else normalizes TEY/I0 first with a shared
        e0. See :func:`sloxide.analysis.xld.xld`.

        Parameters
        ----------
        norm : str or xarray.DataArray, optional
            Normalized spectra on (``angle_dim``, energy).
        dim : str, optional
            The energy dim of raw runs.
        angle_dim : str, default "incidence_angle"
        geometry_correction : bool, default True

        Returns
        -------
        xarray.Dataset
            ``I_ab``, ``I_c``, ``iso``, ``xld``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> ds = xr.Dataset({"norm": (("incidence_angle", "energy"), [[1.0, 2.0], [1.15, 2.0]], {"units": "1"})},
        ...                 coords={"incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"}),
        ...                         "energy": ("energy", [870.0, 871.0], {"units": "eV"})})
        >>> ds.sloxide.xld().xld.values.round(6) + 0.0
        array([-0.2,  0. ])
        """
        spectra, _ = self._normalized(norm, dim)
        return xld.xld(spectra, angle_dim=angle_dim, geometry_correction=geometry_correction)

    def orbital_polarization(
        self,
        n_eg: float = 1.0,
        *,
        norm: Variable = None,
        dim: str | None = None,
        angle_dim: str = "incidence_angle",
        window: Any = NI_L2_WINDOW,
        step_center: Any = NI_L2_STEP_CENTER,
        step_width: Any = NI_L2_STEP_WIDTH,
        geometry_correction: bool = True,
    ) -> xr.Dataset:
        """Hole ratio X and orbital polarization P from a Ni L2 XLD pair.

        See :func:`sloxide.analysis.xld.orbital_polarization`.

        Parameters
        ----------
        n_eg : float, default 1
            e_g electron count.
        norm, dim, angle_dim
            As in :meth:`xld`.
        window : (float, float), default (866, 878)
            Integration window (eV).
        step_center, step_width : float, default 870.6, 0.8
            The common isotropic erf step (eV).
        geometry_correction : bool, default True

        Returns
        -------
        xarray.Dataset
            ``hole_ratio``, ``P``, ``P_stderr``, ``hole_ratio_stderr``, ``r``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> from sloxide.analysis.xld import edge_step_function
        >>> e = np.arange(862.0, 885.0, 0.05)
        >>> line = np.exp(-0.5 * ((e - 871.0) / 0.6) ** 2)
        >>> i30 = 0.25 * line + 0.75 * 1.0981 * line
        >>> ds = xr.Dataset({"norm": (("incidence_angle", "energy"),
        ...                           np.stack([line, i30]) + edge_step_function(e, 870.6, 0.8), {"units": "1"})},
        ...                 coords={"incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"}),
        ...                         "energy": ("energy", e, {"units": "eV"})})
        >>> round(float(ds.sloxide.orbital_polarization().P), 3)
        0.19
        """
        spectra, edim = self._normalized(norm, dim)
        return xld.orbital_polarization(
            spectra,
            dim=edim,
            angle_dim=angle_dim,
            n_eg=n_eg,
            window=window,
            step_center=step_center,
            step_width=step_width,
            geometry_correction=geometry_correction,
        )

    def ni_valence(
        self,
        norm: Variable = None,
        *,
        dim: str | None = None,
        angle_dim: str = "incidence_angle",
    ) -> xr.Dataset:
        """Ni²⁺ fraction indicator I_a/(I_a + I_b) from a two-Gaussian fit of the Ni L2 edge.

        On an XLD pair the isotropic spectrum (2·I_ab + I_c)/3 is fitted. See
        :func:`sloxide.analysis.valence.ni_valence`.

        Parameters
        ----------
        norm : str or xarray.DataArray, optional
            Normalized Ni L2 spectrum; default ``norm``, else TEY/I0 normalized.
        dim : str, optional
        angle_dim : str, default "incidence_angle"

        Returns
        -------
        xarray.Dataset
            ``ratio``, ``ratio_stderr``, ``center_a``, ``center_b``, ``fit``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> e = np.arange(866.0, 876.0, 0.05)
        >>> g = lambda c, s, a: a * np.exp(-0.5 * ((e - c) / s) ** 2) / (s * np.sqrt(2 * np.pi))
        >>> ds = xr.Dataset({"norm": ("energy", g(870.2, 0.4, 0.4) + g(871.5, 0.55, 0.6), {"units": "1"})},
        ...                 coords={"energy": ("energy", e, {"units": "eV"})})
        >>> round(float(ds.sloxide.ni_valence().ratio), 3)
        0.4
        """
        spectra, edim = self._normalized(norm, dim)
        if angle_dim in spectra.dims:
            spectra = xld.xld(spectra, angle_dim=angle_dim)["iso"]
        return valence.ni_valence(spectra, dim=edim)


@xr.register_dataarray_accessor("sloxide")
class SloxideDataArrayAccessor:
    """The same reductions on a DataArray: the array itself is the signal.

    Its ``quantity`` attr (or its name) says what it is; coordinates such as
    ``field`` or ``temperature`` supply the rest.
    """

    def __init__(self, da: xr.DataArray) -> None:
        self._da = da

    def _dataset(self) -> SloxideDatasetAccessor:
        da = self._da
        name = da.attrs.get("quantity") or da.name or "data"
        # The run context (Hall-bar geometry, hall_sign) may ride on the DataArray.
        context = {"sloxide": da.attrs["sloxide"]} if "sloxide" in da.attrs else {}
        return xr.Dataset({name: da.rename(name)}, attrs=context).sloxide

    def resistivity(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.resistivity`.

        Examples
        --------
        >>> import xarray as xr, sloxide
        >>> R = xr.DataArray(4.875e-3, name="R_xy", attrs={"units": "ohm"})
        >>> round(float(R.sloxide.resistivity(width=200, length=1200, thickness=61.54).rho_xy), 4)
        0.03
        """
        return self._dataset().resistivity(**kwargs)

    def branches(self, step: Any = None, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.branches`.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> h = np.concatenate([np.linspace(1, -1, 5), np.linspace(-1, 1, 5)[1:]])
        >>> R = xr.DataArray(np.tanh(3 * h), dims="time", name="R_xy", attrs={"units": "ohm"},
        ...                  coords={"field": ("time", h, {"units": "T"})})
        >>> R.sloxide.branches().R_xy.dims
        ('branch', 'field')
        """
        return self._dataset().branches(step, **kwargs)

    def ahe(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.ahe`; the DataArray is ρ_xy (or R_xy).

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> h = np.concatenate([np.arange(450, -451, -1), np.arange(-449, 451)]) * 0.02
        >>> up = np.r_[-np.ones(901), np.ones(900)]
        >>> rho = xr.DataArray(0.03 * np.tanh((h - up * 0.5) / 0.3), dims="time", name="rho_xy",
        ...                    attrs={"units": "uohm*cm"}, coords={"field": ("time", h, {"units": "T"})})
        >>> round(float(rho.sloxide.ahe().coercive_field), 2)
        0.5
        """
        return self._dataset().ahe(**kwargs)

    def mr(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.mr`; the DataArray is ρ_xx (or R_xx).

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> h = np.concatenate([np.arange(450, -451, -1), np.arange(-449, 451)]) * 0.02
        >>> rho = xr.DataArray(0.6 + 1e-4 * h**2, dims="time", name="rho_xx",
        ...                    attrs={"units": "mohm*cm"}, coords={"field": ("time", h, {"units": "T"})})
        >>> round(float(rho.sloxide.mr().mr_max_field), 3)
        1.35
        """
        return self._dataset().mr(**kwargs)

    def ahe_scaling(self, rho_xx: Variable = None, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.ahe_scaling`; the DataArray is Δρ_AHE.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> t = xr.DataArray(np.arange(2.0, 22.0, 2.0), dims="temperature", attrs={"units": "K"})
        >>> rho = (0.38 + 1e-4 * t**2).assign_attrs(units="mohm*cm").assign_coords(temperature=t)
        >>> drho = (0.19 * rho**2).assign_attrs(units="uohm*cm").rename("delta_rho_ahe")
        >>> round(float(drho.sloxide.ahe_scaling(rho_xx=rho).sigma_ah), 6)
        0.19
        """
        return self._dataset().ahe_scaling(rho_xx=rho_xx, **kwargs)

    def hysteresis(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.hysteresis`; the DataArray is the moment over a
        field sweep (its ``field`` a coordinate or passed as ``field=``).

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> h = np.r_[0:251, 249:-251:-1, -249:251] * 200.0  # 0 -> 5 -> -5 -> 5 T, in Oe
        >>> up = np.r_[np.ones(251), -np.ones(500), np.ones(500)]
        >>> m = xr.DataArray(3e-5 * np.tanh((h - up * 3000) / 1000) + 2e-10 * h, dims="time",
        ...                  name="moment", attrs={"units": "emu"},
        ...                  coords={"field": ("time", h, {"units": "Oe"})})
        >>> round(float(m.sloxide.hysteresis().coercive_field), 3)
        0.3
        """
        return self._dataset().hysteresis(moment=self._da, **kwargs)

    def curie_temperature(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.curie_temperature`; the DataArray is M(T).

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> t = np.arange(2.0, 151.0)
        >>> m = xr.DataArray(np.clip((75 - t) / 35, 0, 1), dims="temperature", name="moment",
        ...                  coords={"temperature": ("temperature", t, {"units": "K"})},
        ...                  attrs={"units": "emu"})
        >>> round(float(m.sloxide.curie_temperature().Tc), 2)
        75.0
        """
        return self._dataset().curie_temperature(**kwargs)

    def amr(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.amr`; the DataArray is R_xx or ρ_xx.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> theta = np.arange(0.0, 360.0, 90.0)
        >>> R = xr.DataArray([99.0, 100.0, 99.0, 100.0], dims="angle", attrs={"units": "ohm"},
        ...                  coords={"angle": ("angle", theta, {"units": "deg"})})
        >>> R.sloxide.amr().amr.values
        array([-1.,  0., -1.,  0.])
        """
        return self._dataset().amr(signal=self._da, **kwargs)

    def amr_harmonics(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.amr_harmonics`; the DataArray is R_xx or ρ_xx.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> theta = np.arange(0.0, 360.0, 5.0)
        >>> R = xr.DataArray(100 - 0.15 * np.cos(np.deg2rad(2 * theta)), dims="angle",
        ...                  attrs={"units": "ohm"}, coords={"angle": ("angle", theta, {"units": "deg"})})
        >>> R.sloxide.amr_harmonics(reference=None).c.values.round(4) + 0.0
        array([-0.15,  0.  ])
        """
        return self._dataset().amr_harmonics(signal=self._da, **kwargs)

    def normalize_xas(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.normalize_xas`; the DataArray is μ(E).

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> from scipy.special import erf
        >>> e = np.arange(862.0, 885.0, 0.1)
        >>> mu = xr.DataArray(0.35 * 0.5 * (1 + erf(e - 870.0)), dims="energy", attrs={"units": "1"},
        ...                   coords={"energy": ("energy", e, {"units": "eV"})})
        >>> round(float(mu.sloxide.normalize_xas(870.0, -8, -3, 9, 15).edge_step), 4)
        0.35
        """
        return self._dataset().normalize_xas(*args, mu=self._da, **kwargs)

    def xld(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.xld`; the DataArray is the normalized pair.

        Examples
        --------
        >>> import xarray as xr, sloxide
        >>> pair = xr.DataArray([[1.0], [1.15]], dims=("incidence_angle", "energy"), attrs={"units": "1"},
        ...     coords={"incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"}),
        ...             "energy": ("energy", [871.0], {"units": "eV"})})
        >>> pair.sloxide.xld().I_c.values.round(6)
        array([1.2])
        """
        return self._dataset().xld(norm=self._da, **kwargs)

    def orbital_polarization(self, n_eg: float = 1.0, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.orbital_polarization`; the DataArray is the normalized pair.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> from sloxide.analysis.xld import edge_step_function
        >>> e = np.arange(862.0, 885.0, 0.05)
        >>> line = np.exp(-0.5 * ((e - 871.0) / 0.6) ** 2)
        >>> pair = xr.DataArray(np.stack([line, 1.07358 * line]) + edge_step_function(e, 870.6, 0.8),
        ...     dims=("incidence_angle", "energy"), attrs={"units": "1"},
        ...     coords={"incidence_angle": ("incidence_angle", [90.0, 30.0], {"units": "deg"}),
        ...             "energy": ("energy", e, {"units": "eV"})})
        >>> round(float(pair.sloxide.orbital_polarization().P), 3)
        0.19
        """
        return self._dataset().orbital_polarization(n_eg, norm=self._da, **kwargs)

    def ni_valence(self, **kwargs: Any) -> xr.Dataset:
        """See :meth:`SloxideDatasetAccessor.ni_valence`; the DataArray is a normalized Ni L2 spectrum.

        Examples
        --------
        >>> import numpy as np, xarray as xr, sloxide
        >>> e = np.arange(866.0, 876.0, 0.05)
        >>> g = lambda c, s, a: a * np.exp(-0.5 * ((e - c) / s) ** 2) / (s * np.sqrt(2 * np.pi))
        >>> norm = xr.DataArray(g(870.2, 0.4, 0.4) + g(871.5, 0.55, 0.6), dims="energy",
        ...                     attrs={"units": "1"}, coords={"energy": ("energy", e, {"units": "eV"})})
        >>> round(float(norm.sloxide.ni_valence().ratio), 3)
        0.4
        """
        return self._dataset().ni_valence(norm=self._da, **kwargs)
