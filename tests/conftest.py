"""Shared pytest setup: make the synthetic-data helpers in tests/ importable."""

import sys
from pathlib import Path

_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)


# ---------------------------------------------------------------------- embedded catalog

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def tiled_catalog_dir(tmp_path_factory):
    """A fresh directory for one test module's embedded Tiled catalog."""
    return tmp_path_factory.mktemp("catalog")


@pytest.fixture(scope="module")
def tiled_catalog(tiled_catalog_dir):
    """An embedded Tiled catalog (SQLite + files) in a temporary directory, opened once.

    Opening costs seconds per process (STACK.md), so each module opens its own
    catalog once; :func:`sloxide.catalog.open_catalog` caches it per directory.
    """
    pytest.importorskip("tiled")
    from sloxide.catalog import open_catalog

    return open_catalog(tiled_catalog_dir, create=True)


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster for the whole session (initdb costs seconds).

    Each user makes its own database with ``postgres.createdb(name)``; the
    cluster and its files are removed at the end of the session.
    """
    from services import PostgresCluster

    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
