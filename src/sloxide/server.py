"""Serve a catalog over HTTP with Tiled: ``sloxide serve``.

A pipeline on another machine, a colleague's notebook or a RunEngine at a
facility reaches the catalog through :func:`sloxide.catalog.open_catalog` with
the server's URL. The server is Tiled's own, run by uvicorn, over either

* the embedded-catalog directory (``catalog.db``, ``tables.sqlite`` and
  ``data/``) that :func:`~sloxide.catalog.open_catalog` writes; nothing is
  copied; or
* a PostgreSQL catalog, as a facility runs it: a database initialized once with
  ``tiled catalog init postgresql://...`` holds the runs' metadata and event
  tables, and a data folder (``data=``, ``--data``) their array files. Several
  RunEngines write through one server at once (docs/deployment.md).

Security model
--------------
Three modes, and writing is never open unless asked for:

================== =================== ============================
mode               without the key     with the API key
================== =================== ============================
default            refused (401)       read
``public=True``    read                read (nobody may write)
``allow_writes``   refused (401)       read and write
================== =================== ============================

* **Who holds the key.** Tiled's single-user API key: ``TILED_API_KEY`` from the
  environment, the same variable a client reads. If it is unset, :func:`serve`
  makes a strong random one (:func:`secrets.token_hex`), valid until the server
  stops, and prints it once on stdout so the person who started the server can
  hand it on. sloxide never writes a key to disk or into run metadata, and the
  server's log lines have ``api_key=...`` and ``Apikey ...`` redacted, so a
  browser user's ``?api_key=`` URL does not end up in the access log. A key
  from the environment is never printed.
* **A read-only key.** ``SLOXIDE_READ_API_KEY``, if set, is a second key
  that is only ever granted the read scopes, also on a writable server: the
  instruments hold the key that writes, analysts and dashboards the one that
  reads. It must differ from ``TILED_API_KEY``.
* **Who may read.** Tiled's authentication: a request without a valid key gets
  no scopes, so 401, unless the server is public (``allow_anonymous_access``),
  when it gets tiled's public scopes, ``read:metadata`` and ``read:data``.
* **Who may write.** Tiled gives the single-user key every scope. Unless
  ``allow_writes`` is set, sloxide caps what any request is granted at the read
  scopes, where tiled resolves them: the ``get_current_scopes`` dependency that
  every endpoint checks, including tiled's GraphQL endpoint ``/api/graphql``,
  whose namespace mutations no access policy sees. So every write, delete and
  create is refused with 401 "Not enough permissions". A read-only Tiled
  access policy on every node, and an adapter opened without writable
  storage, refuse it a second and a third time. In public mode the key grants
  nothing more than anonymity does: a public server is read-only for everyone.
* **Where it listens.** ``127.0.0.1`` unless told otherwise. The key crosses
  plain HTTP; on any other address, put the server behind an HTTPS proxy.

Reading and writing over HTTP needs the ``acquire`` extra on both ends; a
PostgreSQL catalog needs the ``facility`` extra on the server.
"""

from __future__ import annotations

import copy
import errno
import functools
import logging
import os
import re
import secrets
import socket
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from .catalog import (
    CatalogError,
    _embedded_adapter,
    _require,
    default_catalog_directory,
    run_coroutine,
)
from .errors import SloxideError

__all__ = [
    "ServeError",
    "READ_SCOPES",
    "READ_KEY_VARIABLE",
    "access_scopes",
    "build_app",
    "database_uris",
    "is_database_uri",
    "serve",
]

#: The scopes a read-only request is granted: tiled's public scopes.
READ_SCOPES = frozenset({"read:metadata", "read:data"})

_KEY_VARIABLE = "TILED_API_KEY"
#: The environment variable of the read-only key (``sloxide serve``).
READ_KEY_VARIABLE = "SLOXIDE_READ_API_KEY"
_DATABASE_SCHEMES = ("postgresql:", "postgresql+asyncpg:")
_SECRET_PATTERNS = (
    re.compile(r"(api_key=)[^&#\s\"']+", re.IGNORECASE),
    re.compile(r"(apikey\s+)\S+", re.IGNORECASE),
)


class ServeError(SloxideError):
    """The server cannot start: a bad key, address or port.

    Examples
    --------
    >>> from sloxide.errors import SloxideError
    >>> from sloxide.server import ServeError
    >>> issubclass(ServeError, SloxideError)
    True
    """


def access_scopes(
    *, public: bool = False, allow_writes: bool = False
) -> dict[str, frozenset[str]]:
    """The most a request may do in each mode: the Tiled scopes it can be granted.

    Parameters
    ----------
    public : bool, default False
        Anonymous requests may read.
    allow_writes : bool, default False
        Key holders may write. Excludes ``public``.

    Returns
    -------
    dict
        ``"anonymous"`` (a request without a key) and ``"key"`` (a request
        with the API key): each a frozenset of scope names. With
        ``allow_writes``, ``"key"`` is every scope tiled gives its
        single-user key.

    Raises
    ------
    ServeError
        If both ``public`` and ``allow_writes`` are set.

    Examples
    --------
    >>> from sloxide.server import access_scopes
    >>> {who: sorted(s) for who, s in access_scopes().items()}
    {'anonymous': [], 'key': ['read:data', 'read:metadata']}
    >>> sorted(access_scopes(public=True)["anonymous"])
    ['read:data', 'read:metadata']
    >>> {"write:data", "create:node"} <= access_scopes(allow_writes=True)["key"]
    True
    """
    if public and allow_writes:
        raise ServeError(
            "a server cannot be public and writable at once: drop --public (key holders "
            "write) or --allow-writes (anyone reads, nobody writes)"
        )
    if allow_writes:
        from tiled.access_control.scopes import SINGLE_USER_SCOPES

        key = frozenset(str(getattr(s, "value", s)) for s in SINGLE_USER_SCOPES)
    else:
        key = READ_SCOPES
    return {"anonymous": READ_SCOPES if public else frozenset(), "key": key}


# --------------------------------------------------------------------------- catalog


def is_database_uri(catalog: str | os.PathLike[str] | None) -> bool:
    """True when ``catalog`` names a PostgreSQL database rather than a catalog directory.

    Parameters
    ----------
    catalog : str or os.PathLike, optional
        What ``sloxide serve --catalog`` was given.

    Returns
    -------
    bool
        ``postgresql://...`` and ``postgresql+asyncpg://...`` are databases.

    Examples
    --------
    >>> from sloxide.server import is_database_uri
    >>> is_database_uri("postgresql://sloxide@db-host/sloxide")
    True
    >>> is_database_uri("/data/sloxide")
    False
    """
    return catalog is not None and str(catalog).lower().startswith(_DATABASE_SCHEMES)


def database_uris(uri: str) -> tuple[str, str]:
    """The two URIs a PostgreSQL catalog needs: tiled's catalog index and its event tables.

    The index is read and written by SQLAlchemy with the asyncpg driver
    (``postgresql+asyncpg://``); event tables are appended through ADBC, which
    takes the plain ``postgresql://`` form. Both are the same database.

    Parameters
    ----------
    uri : str
        ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE``, with or without
        ``+asyncpg``.

    Returns
    -------
    tuple of str
        (catalog URI, tables URI).

    Raises
    ------
    CatalogError
        If ``uri`` is not a PostgreSQL URI with a database name.

    Examples
    --------
    >>> from sloxide.server import database_uris
    >>> database_uris("postgresql://sloxide@db-host:5432/sloxide")
    ('postgresql+asyncpg://sloxide@db-host:5432/sloxide', 'postgresql://sloxide@db-host:5432/sloxide')
    """
    parts = urllib.parse.urlsplit(str(uri))
    if parts.scheme.lower() not in ("postgresql", "postgresql+asyncpg") or not parts.path.strip(
        "/"
    ):
        raise CatalogError(
            f"{_redacted(uri)!r} is not a PostgreSQL database URI; pass "
            "postgresql://USER@HOST:PORT/DATABASE (or a catalog directory)"
        )
    plain = urllib.parse.urlunsplit(parts._replace(scheme="postgresql"))
    return urllib.parse.urlunsplit(parts._replace(scheme="postgresql+asyncpg")), plain


def _redacted(uri: str) -> str:
    """``uri`` with its password, if any, replaced by ``***``: fit for messages and logs."""
    parts = urllib.parse.urlsplit(str(uri))
    if parts.password is None:
        return str(uri)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _database_state(catalog_uri: str) -> str:
    """``"ready"``, ``"uninitialized"`` or ``"needs upgrade"``; CatalogError if unreachable."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from tiled.alembic_utils import DatabaseUpgradeNeeded, UninitializedDatabase, check_database
    from tiled.catalog.core import ALL_REVISIONS, REQUIRED_REVISION

    async def check() -> str:
        engine = create_async_engine(catalog_uri)
        try:
            await check_database(engine, REQUIRED_REVISION, ALL_REVISIONS)
            return "ready"
        except UninitializedDatabase:
            return "uninitialized"
        except DatabaseUpgradeNeeded:
            return "needs upgrade"
        finally:
            await engine.dispose()

    try:
        return run_coroutine(check, "sloxide-database-check")
    except Exception as exc:
        raise CatalogError(
            f"cannot reach the catalog database {_redacted(catalog_uri)!r} "
            f"({type(exc).__name__}: {' '.join(str(exc).split()[:16])}); check that PostgreSQL "
            "is running, the host, port, user and database name, and that the database "
            "exists (createdb)"
        ) from None


def _database_adapter(uri: str, data: str | os.PathLike[str] | None, *, writable: bool) -> Any:
    """The Tiled adapter of a PostgreSQL catalog: index and event tables in the
    database, array files in ``data``."""
    catalog_uri, tables_uri = database_uris(uri)
    if data is None:
        raise CatalogError(
            "a PostgreSQL catalog needs a data folder for its array files: pass --data DIR "
            "(shared storage that every server of this catalog sees at the same path)"
        )
    _require("tiled.catalog")
    state = _database_state(catalog_uri)
    shown = _redacted(uri)
    if state == "uninitialized":
        raise CatalogError(
            f"the database {shown!r} holds no Tiled catalog yet; initialize it once with "
            f"`tiled catalog init {shown}`, then serve it (serving never creates a catalog)"
        )
    if state == "needs upgrade":
        raise CatalogError(
            f"the catalog {shown!r} was written by an older Tiled and needs a database "
            f"upgrade: run `tiled catalog upgrade-database {shown}`"
        )
    folder = Path(data).expanduser().resolve()
    if not folder.is_dir():
        if not writable or not folder.parent.is_dir():
            raise CatalogError(
                f"the data folder {str(folder)!r} does not exist; create it (mkdir) or pass "
                "the folder this catalog's array files are in (--data DIR)"
            )
        folder.mkdir(mode=0o700)
    from tiled.catalog import from_uri

    adapter = from_uri(
        catalog_uri,
        writable_storage=[str(folder), tables_uri] if writable else None,
        readable_storage=[str(folder)] if writable else [str(folder), tables_uri],
    )
    adapter.context.engine = _database_engine(catalog_uri)
    _serialize_table_creation()
    for storage in adapter.context.readable_storage.values():
        if getattr(storage, "dialect", None) == "postgresql":
            _ping_on_checkout(storage)
    return adapter


_TABLE_CREATION = threading.Lock()


def _serialize_table_creation() -> None:
    """Make tiled create event tables one at a time in this server, and survive a race.

    Runs whose streams have the same columns share one table, created by
    ``CREATE TABLE IF NOT EXISTS`` when the first of them starts. That statement is
    not safe against itself in PostgreSQL: two writers starting the same kind of run
    at once both try to create the table, and one fails ("duplicate key value violates
    unique constraint pg_type_typname_nsp_index"), a 500 that the load test of
    benchmarks/facility.py met with 4 writers. Table creation in this process takes a
    lock; a race with another server over the same database is retried once, when
    the table exists and every statement is a no-op.
    """
    from tiled.adapters.sql import SQLAdapter

    original = SQLAdapter.init_storage.__func__
    if getattr(original, "sloxide_serialized", False):
        return

    def init_storage(cls: Any, storage: Any, data_source: Any, path_parts: Any = None) -> Any:
        with _TABLE_CREATION:
            try:
                return original(cls, storage, data_source, path_parts)
            except Exception as exc:
                if getattr(storage, "dialect", None) != "postgresql" or "23505" not in str(exc):
                    raise
                return original(cls, storage, data_source, path_parts)

    init_storage.sloxide_serialized = True  # type: ignore[attr-defined]
    SQLAdapter.init_storage = classmethod(init_storage)


def _ping_on_checkout(storage: Any) -> None:
    """Test each pooled event-table connection as it is handed out; replace a dead one.

    tiled pools its ADBC connections without a check, so after PostgreSQL
    restarts, each stale connection would fail one request with 500. SQLAlchemy's
    pessimistic disconnect handling: a checkout listener that raises
    ``DisconnectionError`` makes the pool discard the connection and open another.
    """
    from sqlalchemy import event, exc

    def ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
                cursor.fetchall()
            finally:
                cursor.close()
        except Exception as error:  # ADBC raises its own types for a closed connection
            raise exc.DisconnectionError(str(error)) from error

    pool = storage._connection_pool  # tiled's per-storage pool (a SQLAlchemy QueuePool)
    if not event.contains(pool, "checkout", ping):
        event.listen(pool, "checkout", ping)


def _json_number(text: str) -> int | float:
    """A JSON integer from PostgreSQL: an int if it fits in 64 bits, else a float.

    JSONB keeps numbers as exact decimals and prints a large float such as
    1.7976931348623157e308 (a motor's infinite rate, clamped by the client) as
    309 digits without a decimal point; read back, that is an integer too wide
    for the wire formats (msgpack, JSON), and every read of the run would fail.
    SQLite keeps it a float, so this gives what the embedded catalog gives.
    """
    value = int(text)
    return value if -(2**63) <= value < 2**64 else float(value)


def _database_engine(catalog_uri: str) -> Any:
    """tiled's engine for the catalog index, with two changes for PostgreSQL.

    Pre-ping is on (tiled's ``from_uri`` turns it off): a connection that a
    PostgreSQL restart closed is noticed and replaced before use, so the server
    recovers by itself. JSON numbers are read with :func:`_json_number`.
    """
    import json

    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine
    from tiled.server import connection_pool

    engine = create_async_engine(
        catalog_uri,
        json_serializer=connection_pool.json_serializer,
        json_deserializer=functools.partial(json.loads, parse_int=_json_number),
        pool_size=5,
        max_overflow=10,
        pool_pre_ping=True,
    )
    # What tiled's own PostgreSQL engines do on connect (a generic plan cache mode).
    listener = getattr(connection_pool, "_set_postgresql_plan_cache_mode", None)
    if listener is not None:
        event.listens_for(engine.sync_engine, "connect")(listener)
    return engine


def _catalog_adapter(
    catalog: str | os.PathLike[str] | None,
    *,
    writable: bool,
    data: str | os.PathLike[str] | None = None,
) -> Any:
    """The Tiled adapter of the catalog: an embedded one in a directory, or a PostgreSQL one.

    The catalog must exist: serving never creates one. A moved or copied
    embedded catalog is re-pointed at its directory; one this user may read but
    not write is served read-only, unless ``writable`` (then "not writable").
    """
    if catalog is not None and str(catalog).lower().startswith(("http://", "https://")):
        raise CatalogError(
            f"sloxide serve serves a catalog directory or database, not a URL "
            f"({str(catalog)!r}); the server at that URL already serves its catalog"
        )
    if is_database_uri(catalog):
        return _database_adapter(str(catalog), data, writable=writable)
    if data is not None:
        raise CatalogError(
            "--data is for a PostgreSQL catalog; an embedded catalog keeps its array files "
            "in its own folder (drop --data)"
        )
    location = default_catalog_directory() if catalog is None else Path(catalog)
    directory = location.expanduser().resolve()
    # Read-only unless writable: no writable storage, so even a write that got past the
    # scopes and the access policy would find nowhere to put array or table data.
    adapter, _ = _embedded_adapter(
        directory, create=False, writable=writable, require_write=writable
    )
    return adapter


# --------------------------------------------------------------------------- access


def _read_only_policy() -> Any:
    """A Tiled access policy that grants at most the read scopes on every node."""
    from tiled.access_control.protocols import AccessPolicy

    refusal = "this server is read-only (start it with --allow-writes to accept writes)"

    class ReadOnlyAccessPolicy(AccessPolicy):
        async def init_node(self, *args: Any, **kwargs: Any) -> Any:
            raise ValueError(refusal)  # tiled answers 403

        async def modify_node(self, *args: Any, **kwargs: Any) -> Any:
            raise ValueError(refusal)

        async def allowed_scopes(self, *args: Any, **kwargs: Any) -> Any:
            return READ_SCOPES

        async def filters(self, *args: Any, **kwargs: Any) -> Any:
            return []  # every node is visible to whoever may read

    return ReadOnlyAccessPolicy()


def _is_read_key(given: Any, read_key: str | None) -> bool:
    if not read_key or not isinstance(given, str):
        return False
    return secrets.compare_digest(given.encode(), read_key.encode())


def _capped(dependency: Any, allowed: frozenset[str], read_key: str | None = None) -> Any:
    """``dependency`` (a tiled scopes dependency) granting nothing outside ``allowed``,
    and only the read scopes to the read-only key.

    ``functools.wraps`` keeps the signature, so FastAPI resolves the same
    sub-dependencies (key, token, settings) as for tiled's own function.
    """

    @functools.wraps(dependency)
    async def capped(*args: Any, **kwargs: Any) -> set[str]:
        if _is_read_key(kwargs.get("api_key"), read_key):
            return set(READ_SCOPES)
        granted = await dependency(*args, **kwargs)
        return {s for s in granted if str(getattr(s, "value", s)) in allowed}

    return capped


def _read_key_principal(dependency: Any, read_key: str) -> Any:
    """``dependency`` (tiled's current-principal dependency) letting the read-only key in.

    tiled's single-user mode knows one key and answers any other with 401
    "Invalid API key"; the read-only key is resolved as no key at all (the
    principal of an anonymous request), and its scopes come from :func:`_capped`.
    """

    @functools.wraps(dependency)
    async def principal(*args: Any, **kwargs: Any) -> Any:
        if _is_read_key(kwargs.get("api_key"), read_key):
            kwargs["api_key"] = None
        return await dependency(*args, **kwargs)

    return principal


def _read_key(read_key: str | None, key: str) -> str | None:
    """The read-only key: ``read_key``, else SLOXIDE_READ_API_KEY; checked as the key is."""
    read = os.environ.get(READ_KEY_VARIABLE) if read_key is None else read_key
    if not read:
        return None
    if not read.isalnum() or not read.isascii():
        raise ServeError(
            f"the read-only key ({READ_KEY_VARIABLE}) must be letters and digits only; "
            'generate one with python -c "import secrets; print(secrets.token_hex(32))"'
        )
    if read == key:
        raise ServeError(
            f"the read-only key ({READ_KEY_VARIABLE}) is the same as the server's key "
            f"({_KEY_VARIABLE}); give readers a key of their own"
        )
    return read


def _api_key(api_key: str | None, *, required: bool) -> str:
    key = os.environ.get(_KEY_VARIABLE) if api_key is None else api_key
    if not key:
        if not required:
            return secrets.token_hex(32)  # tiled needs one; nobody is told it
        raise ServeError(
            f"no API key: set the {_KEY_VARIABLE} environment variable (e.g. to the output "
            'of python -c "import secrets; print(secrets.token_hex(32))"), or pass api_key='
        )
    if not key.isalnum() or not key.isascii():
        raise ServeError(
            f"the API key ({_KEY_VARIABLE}) must be letters and digits only (tiled's rule, "
            "since it may travel in a URL); generate one with "
            'python -c "import secrets; print(secrets.token_hex(32))"'
        )
    return key


def build_app(
    catalog: str | os.PathLike[str] | None = None,
    *,
    data: str | os.PathLike[str] | None = None,
    api_key: str | None = None,
    read_key: str | None = None,
    public: bool = False,
    allow_writes: bool = False,
) -> Any:
    """The ASGI app of ``sloxide serve``, for uvicorn or any ASGI server.

    Parameters
    ----------
    catalog : str or os.PathLike, optional
        The embedded-catalog directory; default
        :func:`sloxide.catalog.default_catalog_directory`. It must hold a
        catalog (``sloxide demo --data`` or the acquisition profile makes one);
        serving never creates one. A directory the user may not write is
        served read-only. Or a PostgreSQL database,
        ``postgresql://USER@HOST:PORT/DATABASE``, initialized once with
        ``tiled catalog init`` (docs/deployment.md): runs' metadata and event
        tables are stored there, array files in ``data``.
    data : str or os.PathLike, optional
        The data folder of a PostgreSQL catalog (required with one; made if
        missing and ``allow_writes``). Not for an embedded catalog.
    api_key : str, optional
        The server's API key; default the ``TILED_API_KEY`` environment
        variable. Letters and digits only. Not needed when ``public``. With
        ``allow_writes`` it may write.
    read_key : str, optional
        A second key that may only read, whatever the mode; default the
        ``SLOXIDE_READ_API_KEY`` environment variable, or none.
    public : bool, default False
        Anyone may read without a key; nobody may write.
    allow_writes : bool, default False
        Key holders may also write (runs, reduced results).

    Returns
    -------
    fastapi.FastAPI
        ``app.state.sloxide_access`` holds :func:`access_scopes` of the mode.
        Serving it replaces tiled's process-wide single-user key, so serve it
        in its own process, not next to an in-process embedded catalog.

    Raises
    ------
    CatalogError
        If the directory or database holds no catalog, the database cannot
        be reached, a database is given without ``data``, or the directory is
        not writable by this user and ``allow_writes`` is set.
    ServeError
        If no key is given or set (and the server is not public), if a key
        is not alphanumeric, if the read-only key is the server's key, or if
        both ``public`` and ``allow_writes`` are set.

    Examples
    --------
    >>> import tempfile
    >>> from sloxide.catalog import open_catalog
    >>> from sloxide.server import build_app
    >>> directory = tempfile.mkdtemp()
    >>> _ = open_catalog(directory, create=True)  # what `sloxide demo --data` does
    >>> app = build_app(directory, api_key="k3y", allow_writes=True)
    >>> sorted(build_app(directory, api_key="k3y").state.sloxide_access["key"])
    ['read:data', 'read:metadata']
    >>> build_app(directory + "/missing", api_key="k3y")
    Traceback (most recent call last):
    ...
    sloxide.catalog.CatalogError: the catalog folder '...missing' does not exist, so holds no sloxide catalog; ...
    """
    scopes = access_scopes(public=public, allow_writes=allow_writes)
    key = _api_key(api_key, required=not public)
    read = _read_key(read_key, key)
    adapter = _catalog_adapter(catalog, writable=allow_writes, data=data)
    _require("tiled.server.app")
    from tiled.config import Authentication
    from tiled.server import authentication as tiled_authentication
    from tiled.server.app import build_app as tiled_build_app

    app = tiled_build_app(
        adapter,
        # providers=[]: tiled's single-user mode, whatever TILED_AUTHN* variables say.
        Authentication(providers=[], single_user_api_key=key, allow_anonymous_access=public),
        access_policy=None if allow_writes else _read_only_policy(),
    )
    if not allow_writes or read is not None:
        granted = scopes["key"] | scopes["anonymous"]
        for name in ("get_current_scopes", "get_current_scopes_websocket"):
            dependency = getattr(tiled_authentication, name)
            app.dependency_overrides[dependency] = _capped(dependency, granted, read)
    if read is not None:
        for name in ("get_current_principal", "get_current_principal_websocket"):
            dependency = getattr(tiled_authentication, name)
            app.dependency_overrides[dependency] = _read_key_principal(dependency, read)
    app.state.sloxide_access = scopes
    return app


# --------------------------------------------------------------------------- serving


class _RedactSecrets(logging.Filter):
    """Blank API keys out of log records: ``?api_key=...``, ``Apikey ...`` and the key itself."""

    def __init__(self, secret: str = "") -> None:
        super().__init__()
        self._secret = secret if len(secret) >= 8 else ""  # a short key would blank words

    def _scrub(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        for pattern in _SECRET_PATTERNS:
            value = pattern.sub(r"\1[redacted]", value)
        return value.replace(self._secret, "[redacted]") if self._secret else value

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._scrub(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self._scrub(v) for k, v in record.args.items()}
        return True


def _log_config(secret: str, level: int | str = "INFO") -> dict[str, Any]:
    """tiled's log format, all on stderr, every handler redacting secrets.

    ``level`` applies to tiled's and uvicorn's own messages; the access log keeps
    its one line per request unless ``level`` is above WARNING.
    """
    from tiled.server.logging_config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    level = logging.getLevelName(level) if isinstance(level, int) else level.upper()
    for name, logger_config in config["loggers"].items():
        if name != "uvicorn.access" or logging.getLevelName(level) > logging.WARNING:
            logger_config["level"] = level
    config["filters"]["redact"] = {"()": _RedactSecrets, "secret": secret}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact", *handler.get("filters", [])]
        handler["stream"] = "ext://sys.stderr"  # stdout carries only what serve() prints
    for formatter in config["formatters"].values():
        formatter["use_colors"] = None  # colour on a terminal only
    return config


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port, or a ServeError saying why not."""
    if not 0 <= port <= 65535:  # getaddrinfo would wrap 70000 round to 4464
        raise ServeError(f"{port} is not a TCP port; choose one from 1 to 65535 (--port)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        raise ServeError(
            f"cannot bind to {host!r} port {port}: {exc}; pass an address of this machine "
            "(--host 127.0.0.1, or 0.0.0.0 for every interface) and a port from 1 to 65535"
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: quick restarts
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            hint = "another server is using it; stop it or choose another port with --port"
        elif exc.errno == errno.EACCES:
            hint = "ports below 1024 need privileges; choose another port with --port"
        else:
            hint = "pass an address of this machine with --host (default 127.0.0.1)"
        raise ServeError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); {hint}"
        ) from None
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _is_loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.") or host == "::1"


def serve(
    catalog: str | os.PathLike[str] | None = None,
    *,
    data: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    public: bool = False,
    allow_writes: bool = False,
    log_level: int | str = "INFO",
) -> None:
    """Serve the embedded catalog with Tiled until SIGINT or SIGTERM: ``sloxide serve``.

    The API key is ``TILED_API_KEY`` from the environment; if it is unset
    (and the server is not public), a random key is made and printed once on
    stdout. A read-only key for readers, if wanted, is ``SLOXIDE_READ_API_KEY``. Clients connect with ``open_catalog("http://HOST:PORT")`` and
    ``TILED_API_KEY`` set to the same key. On SIGINT or SIGTERM the server
    stops accepting connections, finishes the requests in flight and shuts
    tiled down; then SIGINT returns, and SIGTERM ends the process as the
    signal asks (exit status 143 from a shell, a clean stop for systemd).

    Parameters
    ----------
    catalog : str or os.PathLike, optional
        The embedded-catalog directory, default
        :func:`sloxide.catalog.default_catalog_directory`; or a PostgreSQL
        database URI (with ``data``), see :func:`build_app`.
    data : str or os.PathLike, optional
        The data folder of a PostgreSQL catalog.
    host : str, default "127.0.0.1"
        The address to listen on; ``0.0.0.0`` for every interface.
    port : int, default 8000
        The TCP port.
    public : bool, default False
        Anyone may read without a key; nobody may write.
    allow_writes : bool, default False
        Key holders may also write, e.g. a pipeline storing results or a
        RunEngine's ``TiledWriter``.
    log_level : int or str, default "INFO"
        The least severe of tiled's and uvicorn's messages to log on stderr
        (start, stop, storage); ``sloxide serve`` passes WARNING unless ``-v``.
        The access log, one line per request, is kept unless this is ERROR.

    Raises
    ------
    CatalogError
        If the directory holds no catalog (serving never creates one), or is
        not writable by this user and ``allow_writes`` is set.
    ServeError
        If the port is in use, the address is not this machine's, the key in
        ``TILED_API_KEY`` is not alphanumeric, or the server fails to start.

    Examples
    --------
    >>> from sloxide.server import serve
    >>> serve("no/such/catalog", port=0)  # port 0: any free port
    Traceback (most recent call last):
    ...
    sloxide.catalog.CatalogError: the catalog folder '...' does not exist, so holds no sloxide catalog; ...
    """
    access_scopes(public=public, allow_writes=allow_writes)  # refuses public + writes
    generated = not os.environ.get(_KEY_VARIABLE) and not public
    key = secrets.token_hex(32) if generated else _api_key(None, required=not public)
    _require("uvicorn")
    import uvicorn

    sock = _bind(host, port)  # before the slow part: a busy port fails at once
    try:
        app = build_app(catalog, data=data, api_key=key, public=public, allow_writes=allow_writes)
    except BaseException:
        sock.close()
        raise
    url = _url(host, int(sock.getsockname()[1]))
    if public:
        mode = "public read-only: anyone may read, nobody may write"
    elif allow_writes:
        mode = f"key holders may read and write; requests need the key ({_KEY_VARIABLE})"
    else:
        mode = f"read-only; requests need the API key ({_KEY_VARIABLE}), writes are refused"
    lines = [f"sloxide serve: {url} ({mode}); Ctrl-C or SIGTERM stops it"]
    if generated:
        # Printed on purpose, once, for the person who started the server; never logged.
        lines.append(
            f"sloxide serve: API key for this server (made now, stored nowhere; set "
            f"{_KEY_VARIABLE} to choose your own): {key}"
        )
    if not _is_loopback(host):
        print(
            f"sloxide serve: listening on {host}: the API key crosses the network as plain "
            "HTTP; put an HTTPS proxy in front of this server",
            file=sys.stderr,
            flush=True,
        )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # accepting connections: now the URL works
                print("\n".join(lines), flush=True)

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=_log_config(key, log_level),
        timeout_graceful_shutdown=10,
    )
    try:
        Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises SIGINT after its graceful shutdown
        pass
    except SystemExit as exc:  # uvicorn's way to report a failed startup
        raise ServeError(
            f"the Tiled server over the catalog failed to start (uvicorn exit status "
            f"{exc.code}); the log above says why"
        ) from None
    finally:
        sock.close()
