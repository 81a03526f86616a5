"""OAuth2 password flow: short-lived access tokens plus a refresh token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api import repository as repo
from api.deps import LoginConn, get_tokens
from api.security import Principal, TokenError, Tokens, api_role
from api.signin import sign_in

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    role: str
    region: str | None


class RefreshCreate(BaseModel):
    refresh_token: str


def _issue(tokens: Tokens, p: Principal) -> TokenRead:
    return TokenRead(
        access_token=tokens.issue(p),
        refresh_token=tokens.issue(p, kind="refresh"),
        role=p.role,
        region=p.region,
    )


@router.post("/token")
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    tokens: Annotated[Tokens, Depends(get_tokens)],
) -> TokenRead:
    """Sign in with staff id and password; repeated failures answer 429 with Retry-After."""
    p = sign_in(request, staff_id=form.username, password=form.password)
    if p is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong staff id or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return _issue(tokens, p)


@router.post("/refresh")
def refresh(
    body: RefreshCreate, conn: LoginConn, tokens: Annotated[Tokens, Depends(get_tokens)]
) -> TokenRead:
    """Exchange a refresh token for new tokens (the staff member must still be active)."""
    try:
        p = tokens.decode(body.refresh_token, kind="refresh")
    except TokenError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
    row = repo.credentials(conn, staff_id=p.staff_id)
    if row is None or not row["active"]:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account disabled")
    return _issue(tokens, Principal(row["id"], api_role(row["role"]), row["region"]))
