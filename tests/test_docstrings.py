"""Every public function and accessor method has a numpydoc docstring with a doctest example."""

from __future__ import annotations

import importlib
import inspect

import pytest

import sloxide
from sloxide.accessor import SloxideDataArrayAccessor, SloxideDatasetAccessor

MODULES = [
    "sloxide.units",
    "sloxide.errors",
    "sloxide.analysis.chunks",
    "sloxide.analysis.leastsq",
    "sloxide.analysis.resistivity",
    "sloxide.analysis.multilayer",
    "sloxide.analysis.loops",
    "sloxide.analysis.hall",
    "sloxide.analysis.mr",
    "sloxide.analysis.scaling",
    "sloxide.analysis.magnetization",
    "sloxide.analysis.amr",
    "sloxide.analysis.xld",
    "sloxide.analysis.xas",
    "sloxide.analysis.valence",
    "sloxide.model.magnetism",
    "sloxide.model.magnetotransport",
    "sloxide.model.spectra",
    "sloxide.devices.signals",
    "sloxide.devices.positioner",
    "sloxide.simulation.world",
    "sloxide.devices.sim_binding",
    "sloxide.devices.sim_lab",
    "sloxide.devices.sim",
    "sloxide.report",
    "sloxide.catalog",
    "sloxide.io",
    "sloxide.server",
    "sloxide.ioc",
    "sloxide.devices.definitions",
    "sloxide.plans.context",
    "sloxide.plans.magnetotransport",
    "sloxide.plans.magnetometry",
    "sloxide.plans.suspenders",
    "sloxide.results",
    "sloxide.reduction",
    "sloxide.callbacks",
    "sloxide.batch",
    "sloxide.export",
]


def _public_callables():
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", obj
    for cls in (SloxideDatasetAccessor, SloxideDataArrayAccessor):
        for attr, obj in vars(cls).items():
            if inspect.isfunction(obj) and not attr.startswith("_"):
                yield f"{cls.__name__}.{attr}", obj


PUBLIC = dict(_public_callables())


def test_the_list_is_not_empty():
    assert sloxide.__version__
    assert len(PUBLIC) > 30


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_function_has_a_doctested_example(name):
    doc = inspect.getdoc(PUBLIC[name]) or ""
    assert doc, f"{name} has no docstring"
    assert "Examples\n--------" in doc, f"{name} has no numpydoc Examples section"
    assert ">>> " in doc, f"{name} has no doctest"


@pytest.mark.parametrize(
    "name",
    [
        "ahe",
        "mr",
        "branches",
        "resistivity",
        "ahe_scaling",
        "curie_temperature",
        "amr",
        "amr_harmonics",
        "normalize_xas",
        "xld",
        "orbital_polarization",
        "ni_valence",
    ],
)
def test_accessor_method_documents_parameters_and_returns(name):
    doc = inspect.getdoc(getattr(SloxideDatasetAccessor, name))
    for section in ("Parameters\n----------", "Returns\n-------"):
        assert section in doc, f"{name} lacks {section.splitlines()[0]}"


def test_help_on_an_accessor_method_shows_its_signature_units_and_example():
    """help(xr.Dataset.sloxide.amr_harmonics) is what a notebook user reads."""
    import pydoc

    import xarray as xr

    method = xr.Dataset.sloxide.amr_harmonics
    signature = inspect.signature(method)
    assert signature.parameters["harmonics"].default == (2, 4)
    assert signature.parameters["convention"].default == "signed"
    text = pydoc.render_doc(method, renderer=pydoc.plaintext)
    for part in ("Parameters", "Returns", "Examples", "(deg)", "default (2, 4)", ">>>"):
        assert part in text, part
