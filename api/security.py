"""Passwords (argon2) and short-lived JWTs with an explicit algorithm list."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.clock import Clock, SystemClock
from service.policy import ROLES, role_of

ALGORITHMS = ["HS256"]  # never taken from the token header
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash no password matches, checked for unknown users so that failing takes as long."""
    return _hasher.hash(secrets.token_urlsafe(32))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def api_role(staff_role: str) -> str:
    """Staff roles of the registry → API roles (the HQ after-sales manager administers)."""
    return role_of(staff_role)


@dataclass(frozen=True)
class Principal:
    staff_id: str
    role: str
    region: str | None  # set for leads and technicians: their only region

    @property
    def regional(self) -> bool:
        return self.role in ("lead", "technician")


class AccountDisabledError(PermissionError):
    """A valid token of a staff member who is no longer active."""

    def __init__(self, staff_id: str) -> None:
        self.staff_id = staff_id
        super().__init__(f"account {staff_id!r} is disabled 账号已停用")


class TokenError(ValueError):
    """A token that is missing, expired, tampered with, or of the wrong kind."""


@dataclass(frozen=True)
class Tokens:
    """Issue and check tokens; expiry is judged on the app's clock, not the machine's."""

    secret: str
    access_minutes: int = 15
    refresh_hours: int = 12
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def with_secret(cls, secret: str | None, **kw: Any) -> Tokens:
        return cls(secret or secrets.token_urlsafe(32), **kw)

    def issue(self, p: Principal, *, kind: str = "access", now: datetime | None = None) -> str:
        now = now or self.clock.now()
        life = (
            timedelta(minutes=self.access_minutes)
            if kind == "access"
            else timedelta(hours=self.refresh_hours)
        )
        claims = {
            "sub": p.staff_id,
            "role": p.role,
            "region": p.region,
            "typ": kind,
            "iat": int(now.timestamp()),
            "exp": int((now + life).timestamp()),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHMS[0])

    def decode(self, token: str, *, kind: str = "access") -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=ALGORITHMS,
                # exp and iat are checked below on our clock; PyJWT would read the machine's.
                options={
                    "require": ["exp", "sub", "typ"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise TokenError("invalid token") from exc
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise TokenError("invalid token")
        if datetime.fromtimestamp(exp, UTC) <= self.clock.now():
            raise TokenError("token expired")
        if claims.get("typ") != kind:
            raise TokenError(f"not an {kind} token")
        if claims.get("role") not in ROLES:
            raise TokenError("invalid role")
        return Principal(str(claims["sub"]), str(claims["role"]), claims.get("region"))
