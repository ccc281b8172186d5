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

import xarray as xr

from .analysis import hall, magnetization, mr, scaling, transport
from .errors import DataError, MissingVariableError
from .units import check_units

__all__ = ["SloxideDatasetAccessor", "SloxideDataArrayAccessor"]

Variable = str | xr.DataArray | None


def _context(ds: xr.Dataset) -> Mapping[str, Any]:
    ctx = ds.attrs.get("sloxide")
    return ctx if isinstance(ctx, Mapping) else {}


def _nested(ctx: Mapping[str, Any], section: str, key: str) -> Any:
    part = ctx.get(section)
    return part.get(key) if isinstance(part, Mapping) else None


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
        if "time" in field.dims:
            return "time"
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
        check_units({"field": (h, "T"), **{k: (v, "any") for k, v in present.items()}})
        sweep = xr.Dataset(present, attrs=self._ds.attrs)
        binned = hall.branches(
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
        :func:`sloxide.analysis.transport.resistivity`.

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
            ``rho_xx`` and/or ``rho_xy``.

        Examples
        --------
        >>> import xarray as xr, sloxide
        >>> ds = xr.Dataset({"R_xx": ((), 584.99, {"units": "ohm"})}, attrs={"sloxide": {
        ...     "hall_bar": {"width_um": 200, "length_um": 1200},
        ...     "sample": {"thickness_nm": 61.54}}})
        >>> float(ds.sloxide.resistivity().rho_xx)
        0.6000...
        """
        xx = self._find("R_xx", R_xx, argument="R_xx")
        xy = self._find("R_xy", R_xy, argument="R_xy")
        if xx is None and xy is None:
            raise MissingVariableError("R_xx", "R_xx", self._names(), alternatives=("R_xy",))
        check_units({"R_xx": (xx, "ohm"), "R_xy": (xy, "ohm")})
        return transport.resistivity(
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

        See :func:`sloxide.analysis.hall.branches` for the rules (virgin
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
        check_units({"field": (h, "T")})
        swept = self._ds.drop_vars([h.name], errors="ignore") if h.name in self._ds else self._ds
        return hall.branches(
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
        peak_window: Any = 0.1,
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
        peak_window : float or Quantity, default 0.1
            Half-width (T) of the parabola around each peak.

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
        check_units({"delta_rho_ahe": (drho, "uohm*cm"), "rho_xx": (xx, "mohm*cm")})
        return scaling.anomalous_hall_scaling(
            drho,
            xx,
            dim=dim,
            model=model,
            temperature_range=temperature_range,
            magnetization=m,
        )

    def curie_temperature(
        self,
        moment: Variable = None,
        temperature: Variable = None,
        *,
        dim: str | None = None,
        subtract_background: bool = False,
        fit_min_temperature: Any = 150.0,
        window: Any = 5.0,
    ) -> xr.Dataset:
        """Curie temperature by the tangent method.

        See :func:`sloxide.analysis.magnetization.curie_temperature`.

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
        subtract_background : bool, default False
            Fit and subtract the substrate background above
            ``fit_min_temperature`` (K) first.
        window : float or Quantity, default 5
            Half-width (K) of the tangent fit.

        Returns
        -------
        xarray.Dataset
            ``Tc``, ``Tc_stderr`` and ``T_inflection`` in K.

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
        check_units({"moment": (m, "any"), "temperature": (t, "K")})
        if subtract_background:
            m = magnetization.substrate_background(
                m, t, dim=dim, fit_min_temperature=fit_min_temperature
            )["moment"]
        return magnetization.curie_temperature(m, t, dim=dim, window=window)


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
