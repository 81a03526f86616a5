"""Sign-in throttling: failed attempts per staff id and per client address.

Counted in this API process (each replica counts its own; behind N replicas an
attacker gets N times the budget, still far from a brute force). Checked before the
password hash is computed, so a flood of bad logins costs almost nothing and does not
slow other users' requests. Times come from the app's clock.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class TooManyAttemptsError(Exception):
    """Sign-in refused for a while; ``retry_after`` says how long."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        seconds = max(1, int(retry_after.total_seconds() + 0.999))
        super().__init__(
            f"too many failed sign-ins: try again in {seconds} s 登录失败次数过多，请 {seconds} 秒后再试"
        )

    @property
    def seconds(self) -> int:
        return max(1, int(self.retry_after.total_seconds() + 0.999))


@dataclass
class LoginThrottle:
    """At most ``per_user`` failures per staff id and ``per_address`` per client address
    within ``window``; past that, sign-in is refused until the oldest failure ages out."""

    per_user: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    _failures: dict[str, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, user: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"user:{user.strip().lower()[:64]}", self.per_user)]
        if address:
            keys.append((f"addr:{address}", self.per_address))
        return keys

    def check(self, *, user: str, address: str | None, now: datetime) -> None:
        """Raise TooManyAttemptsError when this user or address is over its budget."""
        wait = timedelta(0)
        with self._lock:
            for key, limit in self._keys(user, address):
                times = self._failures.get(key)
                if not times:
                    continue
                while times and now - times[0] >= self.window:
                    times.popleft()
                if len(times) >= limit:
                    wait = max(wait, times[0] + self.window - now)
        if wait > timedelta(0):
            raise TooManyAttemptsError(wait)

    def address_wait(self, address: str | None, now: datetime) -> timedelta | None:
        """How long this address is still locked out, if it is (no body needed to know)."""
        if not address:
            return None
        with self._lock:
            times = self._failures.get(f"addr:{address}")
            if not times:
                return None
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.per_address:
                return times[0] + self.window - now
        return None

    def failed(self, *, user: str, address: str | None, now: datetime) -> None:
        with self._lock:
            for key, _ in self._keys(user, address):
                self._failures[key].append(now)

    def succeeded(self, *, user: str) -> None:
        """A correct password clears the user's count (not the address's)."""
        with self._lock:
            self._failures.pop(self._keys(user, None)[0][0], None)
