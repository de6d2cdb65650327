"""The Postal database source: discovery, the poll loop and history, over an aiomysql pool.

Shape of one poll cycle (``poll_once``), all reads, all bounded by one deadline (``query_timeout``):

* main DB: live servers + organizations (tiny tables), queue figures per server (index range);
* per server, concurrently on the pool: one scalar round trip (DB clock, newest ids, held total,
  live_stats volumes) and, when rows arrived, the id-window aggregations of ``messages`` and
  ``deliveries`` (PK ranges — Postal indexes neither ``timestamp`` nor ``credential_id``).

A server whose queries fail or outlive the deadline keeps its last good figures, flagged stale with their
age; the other servers are unaffected. The loop (:meth:`PostalDbSource.samples`) never raises: when the
database cannot be reached it yields a status result and retries with exponential backoff and jitter.

Connections come from :class:`~postaltop.sources.db_connect.DbConnector` (login, TLS, the SSH tunnel, the
handshake deadline), the same factory every other database path uses. Each result carries the database's
state (:data:`~postaltop.core.dbmetrics.DB_STATES`): a server that accepts but never answers is
``not-answering`` with the outage's age, told apart from ``refused`` and ``auth-failed``.

The source is built in layers, one module each: ``session`` (the pool and its statements), ``reads``
(discovery and one cycle's reads over the id windows of ``windows``), ``connect_state`` (history and the
state at connect) and ``poll`` (:class:`PostalDbSource`: the loop and one cycle's result); ``errors`` turns
database errors into one clean line.
"""

from postaltop.sources.postal_db.errors import QueryTimeout, clean_error, error_code
from postaltop.sources.postal_db.poll import PostalDbSource
from postaltop.sources.postal_db.windows import FUTURE_TOLERANCE, HELD_PATTERNS

__all__ = ["FUTURE_TOLERANCE", "HELD_PATTERNS", "PostalDbSource", "QueryTimeout", "clean_error", "error_code"]
