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
import atexit
import contextlib
import dataclasses
import functools
import importlib
import math
import os
import re
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import SloxideError, SloxideWarning

try:
    import fcntl
except ImportError:  # not POSIX: no lock file
    fcntl = None  # type: ignore[assignment]


T = TypeVar("T")

__all__ = [
    "run_coroutine",
    "CatalogError",
    "CATALOG_FILENAME",
    "DIRECTORY_MODE",
    "FILE_MODE",
    "LOCK_FILENAME",
    "QueryError",
    "SEARCH_KEYS",
    "SETPOINT_TOLERANCES",
    "TABLES_FILENAME",
    "WRITE_BATCH_SIZE",
    "default_catalog_directory",
    "find_runs",
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


def open_catalog(
    path_or_url: str | os.PathLike[str] | None = None, *, create: bool = False
) -> Any:
    """Open the catalog that runs are written to and read from.

    Parameters
    ----------
    path_or_url : str or os.PathLike, optional
        * ``None`` (default): the embedded catalog in the user data directory,
          :func:`default_catalog_directory`;
        * a directory: the embedded Tiled catalog there (``catalog.db``,
          ``tables.sqlite`` and ``data/``), persistent across processes; several
          processes may have it open at once. The directory may be moved or
          copied: every path the catalog stores is re-pointed at the directory
          it is opened from (a copy never reads or writes the original's files).
          A directory the user may read but not write opens read-only;
        * an ``http://`` or ``https://`` URL: a Tiled server, authenticated with
          the API key in the ``TILED_API_KEY`` environment variable (unless the
          URL carries ``?api_key=`` itself).
    create : bool, default False
        Create the embedded catalog (and its directory) if there is none yet,
        as ``sloxide demo`` and the acquisition profile do. Without it a
        directory that holds no catalog, e.g. a mistyped path, is an error,
        never a new empty catalog. Ignored for a URL.

    Returns
    -------
    tiled.client.container.Container
        The root of the catalog: ``catalog[uid]`` is a run, ``list(catalog)``
        lists the run uids. The same object is returned for the same directory
        (or URL) for the rest of the process.

    Raises
    ------
    CatalogError
        If the directory holds no catalog (and ``create`` is false), if a
        catalog must be created or re-pointed where the user may not write, if
        it holds a catalog from an older Tiled that needs a database upgrade,
        if the server cannot be reached, or if the server refuses the API key.
    ImportError
        If tiled is not installed (the ``acquire`` extra).

    Notes
    -----
    A catalog that sloxide creates is private to its owner: the directory is
    made ``0700`` and its database files ``0600``. docs/storage.md says how
    to share one with a group.

    Examples
    --------
    >>> import tempfile
    >>> from sloxide.catalog import open_catalog
    >>> directory = tempfile.mkdtemp()
    >>> catalog = open_catalog(directory, create=True)
    >>> open_catalog(directory) is catalog  # cached: opening costs seconds
    True
    >>> try:
    ...     open_catalog(directory + "/typo")  # no catalog there: nothing is created
    ... except ValueError as err:
    ...     print("holds no sloxide catalog" in str(err))
    True
    """
    if path_or_url is not None and _is_url(path_or_url):
        key = str(path_or_url)
        opener = functools.partial(_open_server, key)
    else:
        location = default_catalog_directory() if path_or_url is None else Path(path_or_url)
        directory = location.expanduser().resolve()
        key = str(directory)
        opener = functools.partial(_open_embedded, directory, create=create)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = opener()
        return _CACHE[key]


# --------------------------------------------------------------------------- embedded

#: The lock file of an embedded catalog: held while a process initializes,
#: converts or re-points the catalog, so that processes opening it together
#: (two ``sloxide demo`` on a new directory) take turns.
LOCK_FILENAME = "catalog.lock"

#: Modes of what sloxide creates: the catalog is its owner's until shared on purpose.
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600

_LOCK_TIMEOUT_S = 120.0
_CREATE_HINT = (
    "pass the folder that `sloxide demo --data` or the acquisition profile wrote "
    "(--catalog PATH), or create one with `sloxide demo --data DIR` or "
    "open_catalog(DIR, create=True)"
)
#: id() of each read-only client open_catalog returned -> its directory.
_READ_ONLY: dict[int, Path] = {}


def _no_catalog(directory: Path) -> CatalogError:
    what = "does not exist" if not directory.exists() else "holds no sloxide catalog"
    if what == "does not exist":
        what = "does not exist, so holds no sloxide catalog"
    return CatalogError(f"the catalog folder {str(directory)!r} {what}; {_CREATE_HINT}")


def _not_writable(directory: Path, why: str, needed: str) -> CatalogError:
    return CatalogError(
        f"the catalog folder {str(directory)!r} is not writable ({why}), and {needed} needs "
        "writing; ask its owner to open it once, or copy the folder somewhere you may write "
        "and use the copy (--catalog PATH)"
    )


def _writability(directory: Path) -> str | None:
    """Why this user cannot write the catalog in ``directory`` (None if they can)."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return str(exc.strerror or exc)
    for part in (directory / CATALOG_FILENAME, directory / TABLES_FILENAME, directory / "data"):
        if part.exists() and not os.access(part, os.W_OK):
            return f"{part.name} is read-only"
    return None


def _make_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise CatalogError(
            f"the catalog location {str(directory)!r} exists but is not a directory; "
            "choose a directory (--catalog PATH, or open_catalog(path))"
        )
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
    except OSError as exc:
        raise CatalogError(
            f"cannot create the catalog directory {str(directory)!r}: {exc.strerror or exc}. "
            "Choose a directory you can write to (--catalog PATH, or open_catalog(path))"
        ) from None


def _create_private(path: Path, *, directory: bool = False) -> None:
    """Create ``path`` (a file, or a directory) readable by its owner only; keep one that exists."""
    try:
        if directory:
            path.mkdir(mode=DIRECTORY_MODE)
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


@contextlib.contextmanager
def _locked(
    directory: Path, *, exclusive: bool, timeout: float = _LOCK_TIMEOUT_S
) -> Iterator[None]:
    """Hold the catalog's lock file: exclusively to change the catalog, shared to read it.

    A reader who may not create the lock file reads without it (there is
    nothing it could change); elsewhere (no ``fcntl``) there is no lock.
    """
    path = directory / LOCK_FILENAME
    try:
        if exclusive:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        else:
            fd = os.open(path, os.O_RDONLY)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        if fcntl is None:
            yield
            return
        operation = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, operation)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CatalogError(
                        f"another process has held {str(path)!r} for over {timeout:g} s; "
                        "if no sloxide process is opening this catalog, delete the file"
                    ) from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_only_uri(database: Path) -> str:
    """An SQLite URI that reads ``database`` without writing anything next to it.

    A write-ahead-log database normally needs its ``-shm`` file, which a reader
    who may not write the directory cannot create; while no process has the
    catalog open there is none, and the file is opened ``immutable`` instead.
    """
    uri = f"{database.as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return uri
    except sqlite3.Error:
        pass
    wal = Path(f"{database}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise _not_writable(
            database.parent,
            f"{wal.name} holds writes not yet merged into {database.name}",
            "merging them",
        )
    return uri + "&immutable=1"


def _is_initialized(database: Path, uri: str | None = None) -> bool:
    """True when the SQLite file already holds a stamped Tiled catalog."""
    if not database.is_file() or database.stat().st_size == 0:
        return False
    try:
        with contextlib.closing(
            sqlite3.connect(uri or f"{database.as_uri()}?mode=ro", uri=True)
        ) as db:
            return bool(db.execute("SELECT version_num FROM alembic_version").fetchall())
    except sqlite3.Error:
        return False


def run_coroutine(main: Callable[[], Coroutine[Any, Any, T]], name: str) -> T:
    """Run ``main()`` to completion in a thread with its own event loop; its result or error.

    A thread of its own works under a running event loop (Jupyter, IPython) too,
    where ``asyncio.run`` in the calling thread would refuse.

    Examples
    --------
    >>> import asyncio
    >>> from sloxide.catalog import run_coroutine
    >>> async def answer() -> int:
    ...     await asyncio.sleep(0)
    ...     return 42
    >>> run_coroutine(answer, "example")
    42
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(main())
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=name)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _initialize(uri: str) -> bool:
    """Create the catalog tables in-process; False if tiled's internals are not as expected.

    ``tiled.catalog.from_uri(init_if_not_exists=True)`` does the same in a
    subprocess that re-imports tiled (about 5 s); this takes about 0.2 s. The
    async part runs in its own thread, so it works under a running event loop
    (Jupyter) too. Callers hold the catalog's lock (:func:`_locked`).
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

    async def setup() -> bool:
        engine = create_async_engine(uri)
        try:
            await check_database(engine, REQUIRED_REVISION, ALL_REVISIONS)
            return False
        except UninitializedDatabase:
            await initialize_database(engine)
            return True
        finally:
            await engine.dispose()

    try:
        new = run_coroutine(setup, "sloxide-catalog-init")
    except DatabaseUpgradeNeeded as error:
        raise CatalogError(
            f"the catalog {uri!r} was written by an older Tiled and needs a database "
            f"upgrade: run `tiled catalog upgrade-database {uri}` ({error})"
        ) from None
    if new:
        with warnings.catch_warnings():  # alembic's own config deprecation, not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            stamp_head(ALEMBIC_INI_TEMPLATE_PATH, ALEMBIC_DIR, uri)
    return True


def _use_wal(database: Path) -> None:
    """Put an SQLite file in write-ahead-log mode, creating it (owner-only) if missing.

    In WAL mode a reader and the writer do not wait for each other: a reader sees
    the last committed state while another process appends events. In SQLite's
    default mode, reading ``tables.sqlite`` while another process writes fails at
    once with "database is locked": tiled's ADBC connections wait for no lock
    (``busy_timeout`` 0). Tiled means to put the catalog database in WAL mode,
    but asks inside a transaction, where SQLite ignores the request. The mode is
    stored in the file, so this acts once per catalog; a file that another
    process is writing right now is left as it is, and converted by a later open.
    SQLite gives the ``-wal`` and ``-shm`` files the database file's mode.
    """
    _create_private(database)
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=0.5)) as db:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        pass


# ----------------------------------------------------------------- moved and copied catalogs


def _storage_uris(directory: Path) -> tuple[str, str]:
    """The URIs tiled records for the event tables and the array root of ``directory``."""
    from tiled.utils import ensure_uri

    tables = ensure_uri(f"sqlite:///{(directory / TABLES_FILENAME).as_posix()}")
    return str(tables), str(ensure_uri(str(directory / "data")))


def _foreign_assets(db: sqlite3.Connection, directory: Path) -> list[tuple[int, str]]:
    """Assets whose stored URI points at the catalog's files in another directory.

    Tiled records every asset by absolute URI: the event tables
    (``sqlite://localhost/<dir>/tables.sqlite``) and each array under
    ``file://localhost/<dir>/data/``. After the directory is moved or copied,
    those name the old place. Returned: ``(asset id, URI here)`` for each asset
    that names a former place of this catalog and whose file is here; assets
    outside the catalog (registered external files) are left alone.
    """
    from tiled.utils import path_from_uri

    tables_uri, data_uri = _storage_uris(directory)
    rows = db.execute("SELECT id, data_uri FROM assets").fetchall()
    foreign = [
        (int(i), str(u))
        for i, u in rows
        if u != tables_uri and u != data_uri and not u.startswith(data_uri + "/")
    ]
    if not foreign:
        return []
    old_roots: list[Path] = []
    moved: list[tuple[int, str]] = []
    for asset_id, uri in foreign:
        scheme = urllib.parse.urlsplit(uri).scheme
        if scheme == "sqlite" and path_from_uri(uri).name == TABLES_FILENAME:
            old_roots.append(path_from_uri(uri).parent)
            moved.append((asset_id, tables_uri))
    for asset_id, uri in foreign:
        if urllib.parse.urlsplit(uri).scheme != "file":
            continue
        new = _moved_array_uri(uri, old_roots, directory, data_uri)
        if new is not None:
            moved.append((asset_id, new))
    return moved


def _moved_array_uri(
    uri: str, old_roots: list[Path], directory: Path, data_uri: str
) -> str | None:
    """``uri`` (an array under some former ``<root>/data``) re-rooted here, if its files are here."""
    from tiled.utils import ensure_uri, path_from_uri

    for root in old_roots:
        prefix = str(ensure_uri(str(root / "data"))) + "/"
        if uri.startswith(prefix):
            return data_uri + "/" + uri[len(prefix) :]
    # A catalog with arrays but no event tables: find the former root by the files here.
    parts = path_from_uri(uri).parts
    for i, part in enumerate(parts):
        if part == "data" and i + 1 < len(parts):
            rest = [urllib.parse.unquote_plus(p) for p in parts[i + 1 :]]
            if directory.joinpath("data", *rest).exists():
                old_roots.append(Path(*parts[:i]))
                return _moved_array_uri(uri, old_roots, directory, data_uri)
    return None


def _repoint(db: sqlite3.Connection, moved: list[tuple[int, str]]) -> None:
    """Point each asset at its URI here, in the open transaction of ``db``.

    Tiled keeps asset URIs unique; where one with the new URI exists already
    (runs that an older sloxide wrote into a copy), the data sources move to it.
    """
    for asset_id, new in moved:
        existing = db.execute("SELECT id FROM assets WHERE data_uri = ?", (new,)).fetchone()
        if existing is None:
            db.execute("UPDATE assets SET data_uri = ? WHERE id = ?", (new, asset_id))
        elif int(existing[0]) != asset_id:
            db.execute(
                "UPDATE data_source_asset_association SET asset_id = ? WHERE asset_id = ?",
                (int(existing[0]), asset_id),
            )
            db.execute("DELETE FROM assets WHERE id = ?", (asset_id,))


def _repoint_in_place(database: Path, directory: Path) -> int:
    """Re-point a moved or copied catalog at ``directory``, in one transaction; the count."""
    with contextlib.closing(sqlite3.connect(database, timeout=30, isolation_level=None)) as db:
        db.execute("PRAGMA foreign_keys=ON")
        if not _foreign_assets(db, directory):  # the usual case: a quick read, no write lock
            return 0
        db.execute("BEGIN IMMEDIATE")
        try:
            moved = _foreign_assets(db, directory)  # again, now that no one else may write
            _repoint(db, moved)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(moved)


def _repointed_snapshot(database: Path, read_uri: str, directory: Path) -> Path | None:
    """For a reader who may not write: a private copy of ``catalog.db``, re-pointed here.

    None when the catalog needs no re-pointing. The copy is taken now: runs
    written to the catalog later are not in it (open the catalog again to see them).
    """
    with contextlib.closing(sqlite3.connect(read_uri, uri=True)) as source:
        if not _foreign_assets(source, directory):
            return None
        scratch = Path(tempfile.mkdtemp(prefix="sloxide-catalog-"))  # 0700
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        snapshot = scratch / CATALOG_FILENAME
        with contextlib.closing(sqlite3.connect(snapshot)) as target:
            source.backup(target)
    with contextlib.closing(sqlite3.connect(snapshot, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        _repoint(db, _foreign_assets(db, directory))
        db.execute("COMMIT")
    warnings.warn(
        f"the catalog folder {str(directory)!r} was moved or copied and is not writable: "
        "reading it through a re-pointed copy of its index, as of now; opening it once "
        "where it may be written re-points it for good",
        SloxideWarning,
        stacklevel=6,  # open_catalog's caller
    )
    return snapshot


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """An embedded catalog ready for tiled: where its index is and whether it may be written."""

    directory: Path
    database_uri: str  # SQLAlchemy URI of the index (catalog.db, or a re-pointed snapshot)
    read_only: bool
    tables_read_uri: str | None  # SQLite URI of tables.sqlite for a read-only reader


def _prepare(directory: Path, *, create: bool, write: bool = False) -> _Prepared:
    """Check, create (with ``create``), initialize, convert and re-point the catalog.

    Everything that changes files runs under the catalog's lock, so processes
    that open a new or moved catalog at once take turns. ``write`` demands a
    catalog this user may write.
    """
    if not directory.exists():
        if not create:
            raise _no_catalog(directory)
        _make_directory(directory)
    elif not directory.is_dir():
        _make_directory(directory)  # raises: not a directory
    database = directory / CATALOG_FILENAME
    tables = directory / TABLES_FILENAME
    if not (create or database.exists()):
        raise _no_catalog(directory)  # before the lock file: leave a wrong folder as it was
    refusal = _writability(directory)
    if refusal is None:
        with _locked(directory, exclusive=True):
            if not _is_initialized(database):
                if not create:
                    raise _no_catalog(directory)
                _create_private(database)
                _create_private(directory / "data", directory=True)
                _initialize(f"sqlite:///{database.as_posix()}")
            for part in (database, tables):
                _use_wal(part)
            _repoint_in_place(database, directory)
        return _Prepared(directory, f"sqlite:///{database.as_posix()}", False, None)
    # A reader who may not write: read the files as they are, never write next to them.
    if database.exists() and not os.access(database, os.R_OK):
        raise CatalogError(
            f"the catalog folder {str(directory)!r} is not readable by this user "
            f"({database.name}: permission denied); ask its owner for read access "
            "(docs/storage.md, sharing a catalog) or to serve it with `sloxide serve`"
        )
    with _locked(directory, exclusive=False):
        read_uri = _read_only_uri(database) if database.exists() else ""
        if not (read_uri and _is_initialized(database, read_uri)):
            if not create:
                raise _no_catalog(directory)
            raise _not_writable(directory, refusal, "creating a catalog there")
        if write:
            raise _not_writable(directory, refusal, "writing runs or results")
        snapshot = _repointed_snapshot(database, read_uri, directory)
        tables_uri = _read_only_uri(tables) if tables.exists() else None
    index = f"sqlite:///{snapshot.as_posix()}" if snapshot else f"sqlite:///{read_uri}&uri=true"
    return _Prepared(directory, index, True, tables_uri)


def _read_only_tables(tables_uri: str, read_uri: str) -> Any:
    """A tiled storage of ``tables.sqlite`` that reads it through ``read_uri``, writing nothing.

    Tiled's own embedded-SQL storage refuses a directory it may not write, even
    to read; this one opens the file with SQLite's read-only URI instead.
    """
    import dataclasses as dc

    from tiled.storage import EmbeddedSQLStorage

    @dc.dataclass(frozen=True)
    class ReadOnlySQLiteStorage(EmbeddedSQLStorage):
        read_uri: str = ""

        def create_adbc_connection(self) -> Any:
            import adbc_driver_sqlite.dbapi

            return adbc_driver_sqlite.dbapi.connect(self.read_uri)

    return ReadOnlySQLiteStorage(tables_uri, read_uri=read_uri)


def _embedded_adapter(
    directory: Path, *, create: bool, writable: bool, require_write: bool = False
) -> tuple[Any, _Prepared]:
    """The tiled catalog adapter of the embedded catalog in ``directory``.

    ``writable`` gives tiled somewhere to write arrays and event tables; a
    reader who may not write the directory gets a read-only adapter instead,
    unless ``require_write`` (then :class:`CatalogError`, "not writable").
    """
    prepared = _prepare(directory, create=create, write=require_write)
    catalog_module = _require("tiled.catalog")
    data = str(directory / "data")
    tables_uri, _ = _storage_uris(directory)
    if prepared.read_only:
        adapter = catalog_module.from_uri(prepared.database_uri, readable_storage=[data])
        if prepared.tables_read_uri is not None:
            from tiled.storage import register_storage

            storage = _read_only_tables(tables_uri, prepared.tables_read_uri)
            adapter.context.readable_storage[storage.uri] = storage
            register_storage(storage)
        return adapter, prepared
    # Event tables go to SQLite, not DuckDB as in tiled's own examples: DuckDB locks its
    # file for as long as the writing process runs, so a second process (a notebook
    # next to the acquisition session) could not read a single run. Both SQLite files
    # are in WAL mode (see _use_wal), so that readers and a writer do not block each other.
    tables = f"sqlite:///{(directory / TABLES_FILENAME).as_posix()}"
    adapter = catalog_module.from_uri(
        prepared.database_uri,
        writable_storage=[data, tables] if writable else None,
        readable_storage=[data] if writable else [data, tables],
    )
    return adapter, prepared


def _refuse_writes_policy(directory: Path) -> Any:
    """A Tiled access policy for a catalog this user may only read: writes get one clear line."""
    from tiled.access_control.protocols import AccessPolicy

    refusal = (
        f"the catalog folder {str(directory)!r} is not writable by this user; copy it "
        "somewhere you may write and use the copy to store runs or results"
    )

    class ReadOnlyFolderPolicy(AccessPolicy):
        async def init_node(self, *args: Any, **kwargs: Any) -> Any:
            raise ValueError(refusal)  # tiled answers 403 with this message

        async def modify_node(self, *args: Any, **kwargs: Any) -> Any:
            raise ValueError(refusal)

        async def allowed_scopes(self, *args: Any, **kwargs: Any) -> Any:
            return {"read:metadata", "read:data"}

        async def filters(self, *args: Any, **kwargs: Any) -> Any:
            return []

    return ReadOnlyFolderPolicy()


def _open_embedded(directory: Path, *, create: bool = False) -> Any:
    _require("tiled.catalog")
    app_module = _require("tiled.server.app")
    client_module = _require("tiled.client")
    try:
        adapter, prepared = _embedded_adapter(directory, create=create, writable=True)
        policy = _refuse_writes_policy(directory) if prepared.read_only else None
        app = app_module.build_app(adapter, access_policy=policy)
        client = client_module.from_context(client_module.Context.from_app(app))
    except (OSError, sqlite3.Error) as exc:
        raise CatalogError(
            f"cannot open the embedded catalog in {str(directory)!r}: {exc}. Check the "
            "directory's permissions and free space, or choose another (--catalog PATH)"
        ) from exc
    if prepared.read_only:
        _READ_ONLY[id(client)] = directory
    return client


def _require_writable(catalog: Any) -> None:
    """Raise :class:`CatalogError` if ``catalog`` is an embedded catalog opened read-only."""
    directory = _READ_ONLY.get(id(catalog))
    if directory is not None:
        raise _not_writable(directory, "permission denied", "storing runs")


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
        If ``catalog`` is a location that cannot be opened, or an embedded
        catalog this user may read but not write ("not writable").

    Examples
    --------
    >>> import tempfile
    >>> import bluesky.plans as bp
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> uid, = RE(bp.count([sim_lab(SimWorld())["hallbar"]], num=3))
    >>> catalog[uid].metadata["stop"]["exit_status"]
    'success'
    """
    if isinstance(catalog, str | os.PathLike):
        catalog = open_catalog(catalog)
    _require_writable(catalog)
    plugins = _require("bluesky_tiled_plugins")
    if int(batch_size) < 1:
        raise SloxideError(f"batch_size must be a positive number of events, got {batch_size!r}")
    return int(RE.subscribe(plugins.TiledWriter(catalog, batch_size=int(batch_size))))


# --------------------------------------------------------------------------- finding runs


class QueryError(SloxideError):
    """A :func:`find_runs` argument that cannot become a catalog query.

    Examples
    --------
    >>> from sloxide.catalog import QueryError
    >>> from sloxide.errors import SloxideError
    >>> issubclass(QueryError, SloxideError)
    True
    """


#: Friendly :func:`find_runs` keywords: the context key under the start
#: document's ``sloxide`` dict, and the units a bare number is taken in (None:
#: a text key, matched exactly). Any other keyword ending in a unit suffix of
#: :data:`sloxide.io.UNIT_SUFFIXES` (``start_K=300``, ``field_max_T=9``) is the
#: ``setpoints`` key of that name, in those units.
SEARCH_KEYS: dict[str, tuple[str, str | None]] = {
    "temperature": ("setpoints.temperature_K", "K"),
    "field": ("setpoints.field_T", "T"),
    "field_max": ("setpoints.field_max_T", "T"),
    "field_step": ("setpoints.field_step_T", "T"),
    "incidence_angle": ("setpoints.incidence_angle_deg", "deg"),
    "edge": ("xas.edge", None),
    "channel": ("xas.channel", None),
    "group_uid": ("xas.group_uid", None),
    "plane": ("rotation.plane", None),
}

#: How near a stored setpoint must be to a value asked for: (absolute, relative)
#: per physical quantity, in the units named, band max(absolute, relative·|value|).
#: These are DESIGN.md's default device tolerances: setpoints closer than this are
#: the same point to the instrument (it calls itself "there" anywhere in the band),
#: and it is wide enough for any float round-off of a unit conversion
#: ("10000 Oe" → 1.0 T). Quantities not listed match within round-off only
#: (relative 1e-9).
SETPOINT_TOLERANCES: dict[str, tuple[float, float, str]] = {
    "temperature": (0.05, 0.0025, "K"),
    "field": (1e-3, 0.0, "T"),
    "angle": (0.05, 0.0, "deg"),
    "energy": (0.01, 0.0, "eV"),
}

_ROUNDOFF = 1e-9
_RELATIVE_TIME = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


@dataclasses.dataclass(frozen=True)
class _Term:
    """One condition on a start-document key: ``op`` is eq, in, ge, le or lt."""

    op: str
    key: str
    value: Any


def _context_key(name: str) -> tuple[str, str | None]:
    """The ``sloxide`` context key and units of a :func:`find_runs` keyword."""
    if name in SEARCH_KEYS:
        return SEARCH_KEYS[name]
    from .io import UNIT_SUFFIXES

    stem, _, suffix = name.rpartition("_")
    if stem and suffix in UNIT_SUFFIXES:
        return f"setpoints.{name}", UNIT_SUFFIXES[suffix]
    known = ", ".join([*SEARCH_KEYS, "or a setpoints key with its unit suffix (start_K=300)"])
    raise QueryError(f"find_runs has no search key {name!r}; use one of {known}")


def _magnitude(value: Any, units: str, name: str) -> float:
    from .errors import UnitsError
    from .units import scalar_magnitude

    if isinstance(value, bool):
        value = str(value)  # refused below, like any other non-number
    try:
        number = scalar_magnitude(value, units, name)
    except UnitsError as err:
        raise QueryError(
            "; ".join(err.problems) + f" (a bare number is taken in {units})"
        ) from None
    if not math.isfinite(number):
        raise QueryError(f"{name}: {value!r} is not a finite number; pass e.g. 10 or '10 {units}'")
    return number


def _tolerance(value: float, units: str) -> float:
    """Half-width of the band in which a stored setpoint matches ``value`` (in ``units``)."""
    import pint

    from .units import conversion_factors

    for absolute, relative, base in SETPOINT_TOLERANCES.values():
        try:
            scale, offset = conversion_factors(units, base)
        except (pint.errors.DimensionalityError, pint.errors.UndefinedUnitError):
            continue
        band = max(absolute, relative * abs(scale * value + offset))  # in base units
        return band / abs(scale)  # a difference: the offset drops out
    return _ROUNDOFF * max(abs(value), 1.0)


def _text_term(name: str, key: str, value: Any) -> _Term:
    """A text key equal to a string, or to any of several."""
    if isinstance(value, str):
        return _Term("eq", key, value)
    if isinstance(value, list | tuple | set | frozenset) and value:
        if all(isinstance(v, str) for v in value):
            return _Term("in", key, sorted(value))
    raise QueryError(f"{name} is text: pass a string or a list of strings, got {value!r}")


def _setpoint_terms(name: str, value: Any) -> list[_Term]:
    path, units = _context_key(name)
    key = f"start.sloxide.{path}"
    if units is None:
        return [_text_term(name, key, value)]
    if isinstance(value, tuple):
        if len(value) != 2:
            raise QueryError(
                f"{name}: a range is a (low, high) pair, got {value!r}; e.g. "
                f"{name}=(2, 20) or {name}=('2 {units}', '20 {units}')"
            )
        low, high = (
            None if side is None else _magnitude(side, units, f"{name} {which}")
            for side, which in zip(value, ("low", "high"), strict=True)
        )
        if low is None and high is None:
            raise QueryError(f"{name}: the range {value!r} has no bound; give low, high or both")
        if low is not None and high is not None and low > high:
            raise QueryError(
                f"{name}: the range {value!r} is empty (low > high); write it as (low, high)"
            )
        terms = []
        if low is not None:
            terms.append(_Term("ge", key, low - _ROUNDOFF * max(abs(low), 1.0)))
        if high is not None:
            terms.append(_Term("le", key, high + _ROUNDOFF * max(abs(high), 1.0)))
        return terms
    if isinstance(value, list | set | frozenset):
        raise QueryError(
            f"{name}: a range is a tuple (low, high), got the {type(value).__name__} {value!r}"
        )
    number = _magnitude(value, units, name)
    band = _tolerance(number, units)
    return [_Term("ge", key, number - band), _Term("le", key, number + band)]


def _timestamp(value: Any, name: str, now: float) -> float:
    """``since``/``until`` as a Unix time: a datetime, date, ISO string, age or number."""
    import datetime as dt

    if isinstance(value, bool):
        pass
    elif isinstance(value, int | float):
        return float(value)
    elif isinstance(value, dt.timedelta):
        return now - value.total_seconds()
    elif isinstance(value, dt.datetime):
        return value.timestamp()  # naive: local time, like the clock the runs were taken by
    elif isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day).timestamp()
    elif isinstance(value, str):
        text = value.strip()
        match = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([smhdw])", text)
        if match:
            return now - float(match.group(1)) * _RELATIVE_TIME[match.group(2)]
        try:
            return dt.datetime.fromisoformat(text).timestamp()
        except ValueError:
            pass
    raise QueryError(
        f"{name}={value!r} is not a time; pass an ISO date or time ('2026-11-26', "
        "'2026-11-26T14:30'), an age such as '7d', '12h' or '30m', a datetime or a timedelta"
    )


def _search_terms(
    *,
    sample: Any = None,
    measurement: Any = None,
    since: Any = None,
    until: Any = None,
    **setpoints: Any,
) -> list[_Term]:
    """The conditions of :func:`find_runs`, checked; no tiled needed."""
    terms = []
    for name, path, value in (
        ("sample", "sample.name", sample),
        ("measurement", "measurement", measurement),
    ):
        if value is None:
            continue
        terms.append(_text_term(name, f"start.sloxide.{path}", value))
    now = time.time()
    start = None if since is None else _timestamp(since, "since", now)
    stop = None if until is None else _timestamp(until, "until", now)
    if start is not None and stop is not None and start >= stop:
        raise QueryError(
            f"since={since!r} is not before until={until!r}; nothing could match. Swap them"
        )
    if start is not None:
        terms.append(_Term("ge", "start.time", start))
    if stop is not None:
        terms.append(_Term("lt", "start.time", stop))
    for name, value in setpoints.items():
        if value is not None:
            terms.extend(_setpoint_terms(name, value))
    return terms


def _query(term: _Term) -> Any:
    from tiled.queries import Comparison, Eq, In

    if term.op == "eq":
        return Eq(term.key, term.value)
    if term.op == "in":
        return In(term.key, list(term.value))
    # SQLite compares as the type of the value: a float compares stored ints as floats.
    return Comparison(term.op, term.key, float(term.value))


def find_runs(
    catalog: Any,
    *,
    sample: str | Sequence[str] | None = None,
    measurement: str | Sequence[str] | None = None,
    since: Any = None,
    until: Any = None,
    **setpoints: Any,
) -> Any:
    """The runs of a catalog that match, found by the catalog itself, oldest first.

    Every condition becomes a Tiled query (:mod:`tiled.queries`) that the
    catalog's database answers, on SQLite (the embedded catalog) as on a Tiled
    server with PostgreSQL: nothing is listed to be filtered in Python, so
    finding ten runs among 100,000 costs what the database's search costs.
    Only Bluesky runs match (Tiled spec ``BlueskyRun``), never the container of
    stored results, :data:`sloxide.results.RESULTS_CONTAINER`. All conditions
    must hold.

    Parameters
    ----------
    catalog : tiled client, str or os.PathLike
        What :func:`open_catalog` returns (or any search of it), or a directory
        or URL to open with it.
    sample : str or sequence of str, optional
        The sample name (``sloxide.sample.name``), or any of several.
    measurement : str or sequence of str, optional
        ``"rt"``, ``"field_loop"``, ``"amr"``, ``"fc_magnetization"``, ``"xas"``,
        or any of several.
    since, until : datetime, date, str, timedelta or float, optional
        Runs that started at or after ``since`` and before ``until``: a
        datetime (naive ones are local time), a date (its midnight), an ISO
        8601 string (``"2026-11-26"``, ``"2026-11-26T14:30"``,
        ``"2026-11-26T14:30+01:00"``), an age (a timedelta, or ``"7d"``,
        ``"12h"``, ``"30m"``, ``"45s"``, ``"2w"``: that long before now) or a Unix
        time. ``since="2026-11-25", until="2026-11-26"`` is the 25th.
    **setpoints
        Conditions on the run's context, by the keys in :data:`SEARCH_KEYS`:
        ``temperature`` (``setpoints.temperature_K``), ``field``
        (``setpoints.field_T``), ``field_max``, ``field_step``,
        ``incidence_angle`` (XAS); text keys ``edge`` (``"Ni L2"``),
        ``channel`` (``"I_ab"``), ``plane`` (``"(001)"``) and ``group_uid``;
        or any ``setpoints`` key with its unit suffix, e.g. ``start_K``. A
        quantity is

        * a value: a number in the key's units (K, T, deg), or a string or
          pint Quantity with units (``"9 T"``, ``"5000 Oe"``, ``"2 K"``). It
          matches a stored setpoint within the instrument's tolerance,
          :data:`SETPOINT_TOLERANCES` (temperature max(0.05 K, 0.25 %), field
          1 mT, angle 0.05°, energy 0.01 eV): the band in which the instrument
          itself reports it is "there";
        * a range ``(low, high)``, inclusive, either end ``None`` for no bound,
          each a number or a quantity: ``temperature=(2, 20)``,
          ``temperature=("2 K", "20 K")``, ``field=(None, "1 T")``.

        A text key takes a string, or a list of strings (any of them).

    Returns
    -------
    tiled.client.container.Container
        The search result, as ``catalog.search(...)`` returns it in databroker
        and Tiled: a lazy container of the matching runs, sorted by start time,
        oldest first. ``len(runs)`` counts them in the database; ``list(runs)``
        gives their uids; ``runs.values()`` the run clients, fetched a page at
        a time; ``runs.values().last()`` the newest; ``runs.search(query)``
        narrows it further. Pass it to :func:`sloxide.io.read_runs` to stack
        the runs.

    Raises
    ------
    QueryError
        For an unknown key, a value without sense in its units, an empty range,
        or a time that cannot be read.
    CatalogError
        If ``catalog`` is a location that cannot be opened.

    Examples
    --------
    >>> import tempfile
    >>> from bluesky import RunEngine
    >>> from sloxide.catalog import find_runs, open_catalog, subscribe
    >>> from sloxide.devices.sim import SimWorld, sim_lab
    >>> from sloxide.plans import field_loop
    >>> catalog = open_catalog(tempfile.mkdtemp(), create=True)
    >>> RE = RunEngine({})
    >>> token = subscribe(RE, catalog)
    >>> lab = sim_lab(SimWorld(sample="C10/L6"))
    >>> for t in (2.0, 10.0, 50.0):
    ...     _ = RE(field_loop(lab["hallbar"], lab["cryostat"], temperature=t, field_max=0.5,
    ...                       step=0.25, sample="C10/L6"))
    >>> runs = find_runs(catalog, sample="C10/L6", temperature=("2 K", "20 K"))
    >>> [run.metadata["start"]["sloxide"]["setpoints"]["temperature_K"] for run in runs.values()]
    [2.0, 10.0]
    >>> len(find_runs(catalog, temperature=10.02))  # within 0.05 K of the 10 K setpoint
    1
    >>> len(find_runs(catalog, field_max="5000 Oe", since="1d", measurement="field_loop"))
    3
    """
    terms = _search_terms(
        sample=sample, measurement=measurement, since=since, until=until, **setpoints
    )
    if isinstance(catalog, str | os.PathLike):
        catalog = open_catalog(catalog)
    from tiled.queries import SpecsQuery

    runs = catalog.search(SpecsQuery(["BlueskyRun"]))
    for term in terms:
        runs = runs.search(_query(term))
    return runs.sort(("start.time", 1))
