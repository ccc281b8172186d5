"""Open the run catalog, embedded or on a Tiled server, and subscribe a RunEngine to it.

sloxide never invents its own storage (DESIGN.md, "Storage and scale-out"):

* on a laptop the catalog is an **embedded Tiled catalog**, an SQLite file plus
  data files in one directory, served in-process with no HTTP port
  (STACK.md, "Embedded catalog", recipe (a)). A run written by one process is
  listed and readable by any other, also while the writer still runs;
* at a facility the same code points at a **Tiled server** URL, with the API
  key from the ``TILED_API_KEY`` environment variable.

Opening costs seconds (importing tiled and building the app), so
:func:`open_catalog` caches one client per directory or URL for the life of the
process. Everything here needs the ``acquire`` extra; importing this module
does not import tiled, which is loaded on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import os
import socket
import sqlite3
import tempfile
import threading
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Any

from .errors import SloxideError

__all__ = [
    "CatalogError",
    "CATALOG_FILENAME",
    "TABLES_FILENAME",
    "WRITE_BATCH_SIZE",
    "default_catalog_directory",
    "open_catalog",
    "subscribe",
]

#: The SQLite file of an embedded catalog, inside its directory. The directory also
#: holds ``data/`` (array files) and :data:`TABLES_FILENAME` (the event tables).
CATALOG_FILENAME = "catalog.db"

#: The SQLite file of the event tables, inside the catalog directory.
TABLES_FILENAME = "tables.sqlite"

#: Events the writer collects before one write (bluesky-tiled-plugins' default).
#: Every run is flushed by its stop document, whatever its length; see :func:`subscribe`.
WRITE_BATCH_SIZE = 10_000

_INSTALL_HINT = 'install the acquisition extra: pip install "sloxide[acquire]"'
_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()


class CatalogError(SloxideError):
    """The catalog cannot be opened or written: a bad directory, server or API key.

    Examples
    --------
    >>> from sloxide.catalog import CatalogError
    >>> from sloxide.errors import SloxideError
    >>> issubclass(CatalogError, SloxideError)
    True
    """


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"sloxide.catalog needs {module!r} ({exc}); {_INSTALL_HINT}") from exc


def default_catalog_directory() -> Path:
    """The directory of the default embedded catalog: ``<user data dir>/sloxide/catalog``.

    The user data directory is the platform's (``platformdirs.user_data_dir``),
    e.g. ``~/.local/share/sloxide`` on Linux. Nothing is created here.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> from sloxide.catalog import default_catalog_directory
    >>> default_catalog_directory().name
    'catalog'
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("sloxide")) / "catalog"


def _is_url(location: str | os.PathLike[str]) -> bool:
    return isinstance(location, str) and location.lower().startswith(("http://", "https://"))


def open_catalog(path_or_url: str | os.PathLike[str] | None = None) -> Any:
    """Open (creating if needed) the catalog that runs are written to and read from.

    Parameters
    ----------
    path_or_url : str or os.PathLike, optional
        * ``None`` (default): the embedded catalog in the user data directory,
          :func:`default_catalog_directory`;
        * a directory: an embedded Tiled catalog there (``catalog.db``,
          ``tables.sqlite`` and ``data/``), created if missing and persistent
          across processes; several processes may have it open at once;
        * an ``http://`` or ``https://`` URL: a Tiled server, authenticated with
          the API key in the ``TILED_API_KEY`` environment variable (unless the
          URL carries ``?api_key=`` itself).

    Returns
    -------
    tiled.client.container.Container
        The root of the catalog: ``catalog[uid]`` is a run, ``list(catalog)``
        lists the run uids. The same object is returned for the same directory
        (or URL) for the rest of the process.

    Raises
    ------
    CatalogError
        If the directory cannot be created or written, if it holds a catalog
        from an older Tiled that needs a database upgrade, if the server cannot
        be reached, or if the server refuses the API key.
    ImportError
        If tiled is not installed (the ``acquire`` extra).

    Examples
    --------
    >>> import tempfile
    >>> from sloxide.catalog import open_catalog
    >>> directory = tempfile.mkdtemp()
    >>> catalog = open_catalog(directory)
    >>> open_catalog(directory) is catalog  # cached: opening costs seconds
    True
    >>> try:
    ...     open_catalog(__file__ + "/catalog")  # a file is in the way
    ... except ValueError as err:
    ...     print(str(err)[:36])
    cannot create the catalog directory
    """
    if path_or_url is not None and _is_url(path_or_url):
        key = str(path_or_url)
        opener = functools.partial(_open_server, key)
    else:
        location = default_catalog_directory() if path_or_url is None else Path(path_or_url)
        directory = location.expanduser().resolve()
        key = str(directory)
        opener = functools.partial(_open_embedded, directory)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = opener()
        return _CACHE[key]


# --------------------------------------------------------------------------- embedded


def _check_writable(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise CatalogError(
            f"the catalog location {str(directory)!r} exists but is not a directory; "
            "choose a directory (--catalog PATH, or open_catalog(path))"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(
            f"cannot create the catalog directory {str(directory)!r}: {exc.strerror or exc}. "
            "Choose a directory you can write to (--catalog PATH, or open_catalog(path))"
        ) from None
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise CatalogError(
            f"the catalog directory {str(directory)!r} is not writable: "
            f"{exc.strerror or exc}. Fix its permissions or choose another directory "
            "(--catalog PATH, or open_catalog(path))"
        ) from None
    for part in (directory / CATALOG_FILENAME, directory / TABLES_FILENAME, directory / "data"):
        if part.exists() and not os.access(part, os.W_OK):
            raise CatalogError(
                f"{str(part)!r} in the catalog directory is not writable; fix its "
                "permissions or choose another directory (--catalog PATH)"
            )


def _is_initialized(database: Path) -> bool:
    """True when the SQLite file already holds a stamped Tiled catalog."""
    if not database.is_file() or database.stat().st_size == 0:
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
            return bool(db.execute("SELECT version_num FROM alembic_version").fetchall())
    except sqlite3.Error:
        return False


def _initialize(uri: str) -> bool:
    """Create the catalog tables in-process; False if tiled's internals are not as expected.

    ``tiled.catalog.from_uri(init_if_not_exists=True)`` does the same in a
    subprocess that re-imports tiled (about 5 s); this takes about 0.2 s. The
    async part runs in its own thread, so it works under a running event loop
    (Jupyter) too.
    """
    try:
        from sqlalchemy.ext.asyncio import create_async_engine
        from tiled.alembic_utils import (
            DatabaseUpgradeNeeded,
            UninitializedDatabase,
            check_database,
            stamp_head,
        )
        from tiled.catalog.alembic_constants import ALEMBIC_DIR, ALEMBIC_INI_TEMPLATE_PATH
        from tiled.catalog.core import ALL_REVISIONS, REQUIRED_REVISION, initialize_database
        from tiled.utils import ensure_specified_sql_driver
    except ImportError:
        return False
    uri = ensure_specified_sql_driver(uri)
    outcome: dict[str, Any] = {}

    async def setup() -> None:
        engine = create_async_engine(uri)
        try:
            await check_database(engine, REQUIRED_REVISION, ALL_REVISIONS)
        except UninitializedDatabase:
            await initialize_database(engine)
            outcome["new"] = True
        finally:
            await engine.dispose()

    def run() -> None:
        try:
            asyncio.run(setup())
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="sloxide-catalog-init")
    worker.start()
    worker.join()
    error = outcome.get("error")
    if isinstance(error, DatabaseUpgradeNeeded):
        raise CatalogError(
            f"the catalog {uri!r} was written by an older Tiled and needs a database "
            f"upgrade: run `tiled catalog upgrade-database {uri}` ({error})"
        ) from None
    if error is not None:
        raise error
    if outcome.get("new"):
        with warnings.catch_warnings():  # alembic's own config deprecation, not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            stamp_head(ALEMBIC_INI_TEMPLATE_PATH, ALEMBIC_DIR, uri)
    return True


def _use_wal(database: Path) -> None:
    """Put an SQLite file in write-ahead-log mode, creating it if missing; best effort.

    In WAL mode a reader and the writer do not wait for each other: a reader sees
    the last committed state while another process appends events. In SQLite's
    default mode, reading ``tables.sqlite`` while another process writes fails at
    once with "database is locked": tiled's ADBC connections wait for no lock
    (``busy_timeout`` 0). Tiled means to put the catalog database in WAL mode,
    but asks inside a transaction, where SQLite ignores the request. The mode is
    stored in the file, so this acts once per catalog; a file that another
    process is writing right now is left as it is, and converted by a later open.
    """
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=0.5)) as db:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        pass


def _open_embedded(directory: Path) -> Any:
    _check_writable(directory)
    catalog_module = _require("tiled.catalog")
    app_module = _require("tiled.server.app")
    client_module = _require("tiled.client")
    database = directory / CATALOG_FILENAME
    # Event tables go to SQLite, not DuckDB as in tiled's own examples: DuckDB locks its
    # file for as long as the writing process runs, so a second process (a notebook
    # next to the acquisition session) could not read a single run. Both SQLite files
    # are in WAL mode (see _use_wal), so that readers and a writer do not block each other.
    tables = directory / TABLES_FILENAME
    uri = f"sqlite:///{database.as_posix()}"
    initialized = _is_initialized(database) or _initialize(uri)
    try:
        adapter = catalog_module.from_uri(
            uri,
            writable_storage=[str(directory / "data"), f"sqlite:///{tables.as_posix()}"],
            readable_storage=[str(directory / "data")],
            init_if_not_exists=not initialized,
        )
        for part in (database, tables):
            _use_wal(part)
        app = app_module.build_app(adapter)
        return client_module.from_context(client_module.Context.from_app(app))
    except (OSError, sqlite3.Error) as exc:
        raise CatalogError(
            f"cannot open the embedded catalog in {str(directory)!r}: {exc}. Check the "
            "directory's permissions and free space, or choose another (--catalog PATH)"
        ) from exc


# --------------------------------------------------------------------------- server


def _reachable(url: str, timeout: float = 5.0) -> str | None:
    """Why the server's host:port cannot be reached (None if it can, or behind a proxy).

    tiled retries a refused connection for about 20 s before failing; a plain
    TCP connect answers at once. Behind an HTTP proxy the check is left to tiled.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if not host:
        return "the URL has no host name"
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    if parts.scheme.lower() in urllib.request.getproxies() and not urllib.request.proxy_bypass(
        host
    ):
        return None
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"


def _open_server(url: str) -> Any:
    client_module = _require("tiled.client")
    problem = _reachable(url)
    if problem is not None:
        raise CatalogError(
            f"cannot reach the Tiled server at {url!r} ({problem}). Check the address and "
            "that the server is running (e.g. `sloxide serve`), or use a local catalog "
            "directory instead of a URL"
        )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    api_key = None if "api_key" in query else os.environ.get("TILED_API_KEY")
    try:
        return client_module.from_uri(url, api_key=api_key)
    except Exception as exc:  # httpx and tiled raise many types; name the cause
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403) or "api key" in str(exc).lower():
            hint = (
                "the server refused the API key: set TILED_API_KEY to a valid key"
                if api_key or "api_key" in query
                else "the server needs an API key: set the TILED_API_KEY environment variable"
            )
        else:
            hint = "check the URL and that it points at a Tiled server"
        cause = " ".join(str(exc).split()[:12])  # tiled's messages run over several lines
        raise CatalogError(
            f"cannot open the Tiled server at {url!r} ({type(exc).__name__}: {cause}); {hint}"
        ) from exc


# --------------------------------------------------------------------------- writing


def subscribe(RE: Any, catalog: Any, *, batch_size: int = WRITE_BATCH_SIZE) -> int:
    """Store every document the RunEngine emits in ``catalog``.

    One ``bluesky_tiled_plugins.TiledWriter`` is subscribed to all documents.
    The writer collects up to ``batch_size`` events per stream and writes
    them in one request; the stop document flushes what is left and closes
    the run. So a run is complete and readable as soon as the RunEngine has
    emitted its stop document: when ``RE(plan)`` returns, and also after a
    failed or aborted run (its ``exit_status`` says which), with the events
    taken so far. Until then a long run is listed, from its start document,
    but its events are not in the catalog; pass a smaller ``batch_size`` to
    watch it fill while it runs (writing each event on its own makes
    acquisition about 10× slower). If the writing process dies before the stop
    document (killed or crashed), the run stays without one, holding
    the batches written so far; every earlier run is intact, and the catalog
    opens and takes new runs as before.

    Parameters
    ----------
    RE : bluesky.RunEngine
        The RunEngine to subscribe.
    catalog : tiled client, str or os.PathLike
        What :func:`open_catalog` returns, or a directory or URL to open with it.
    batch_size : int, default 10000
        Events collected before a write.

    Returns
    -------
    int
        The subscription token; ``RE.unsubscribe(token)`` stops writing.

    Raises
    ------
    CatalogError
        If ``catalog`` is a location that cannot be opened.

    Examples
    --------
    >>> import tempfile
    >>> import bluesky.plans as bp
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> catalog = open_catalog(tempfile.mkdtemp())
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> uid, = RE(bp.count([sim_lab(SimWorld())["hallbar"]], num=3))
    >>> catalog[uid].metadata["stop"]["exit_status"]
    'success'
    """
    if isinstance(catalog, str | os.PathLike):
        catalog = open_catalog(catalog)
    plugins = _require("bluesky_tiled_plugins")
    if int(batch_size) < 1:
        raise SloxideError(f"batch_size must be a positive number of events, got {batch_size!r}")
    return int(RE.subscribe(plugins.TiledWriter(catalog, batch_size=int(batch_size))))
