"""Exactly one active scheduler: a PostgreSQL advisory lock held on a dedicated connection.

The lock belongs to the session: if the leader dies or its connection drops, the
server releases it and a standby's next try succeeds.
"""

from __future__ import annotations

import contextlib
import logging
import os

import psycopg

logger = logging.getLogger(__name__)

LOCK_KEY = 0x41494353  # "AICS"


class LeaderLock:
    def __init__(self, database_url: str, *, key: int = LOCK_KEY) -> None:
        self.database_url = database_url
        self.key = key
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def try_acquire(self) -> bool:
        """Try once; True if this process is (still) the leader."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self.database_url,
                    autocommit=True,
                    application_name=f"aic-scheduler-leader-{os.getpid()}",
                )
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            return bool(row and row[0])
        except psycopg.Error as exc:
            logger.warning("leader lock: %s", exc)
            self._drop()
            return False

    def still_held(self) -> bool:
        """True while our session (and so the lock) is alive."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND objid = %s",
                (self.key & 0xFFFFFFFF,),
            ).fetchone()
            return bool(row and row[0])
        except psycopg.Error:
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
