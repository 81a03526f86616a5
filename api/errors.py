"""The one place where domain errors become HTTP answers (never a 500 for bad input)."""

from __future__ import annotations

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from api.security import AccountDisabledError
from api.throttle import TooManyAttemptsError
from core.errors import NotFoundError
from service.errors import ForbiddenError, InvalidTransitionError, StockError


def install(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(InvalidTransitionError)
    def invalid_transition(request: Request, exc: InvalidTransitionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "reason": exc.reason}, status_code=409)

    @app.exception_handler(ForbiddenError)
    def forbidden(request: Request, exc: ForbiddenError) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=403)

    @app.exception_handler(StockError)
    def stock(request: Request, exc: StockError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "reason": exc.reason}, status_code=409)

    def busy(request: Request, exc: Exception) -> JSONResponse:
        # A slow, locked or unreachable database: tell the client to come back, not 500.
        return JSONResponse(
            {
                "detail": "数据库繁忙，请稍后再试 database busy or unavailable, try again shortly",
                "reason": type(exc).__name__,
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    for kind in (
        PoolTimeout,
        psycopg.errors.QueryCanceled,
        psycopg.errors.LockNotAvailable,
        psycopg.OperationalError,
    ):
        app.add_exception_handler(kind, busy)

    @app.exception_handler(AccountDisabledError)
    def disabled(request: Request, exc: AccountDisabledError) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(TooManyAttemptsError)
    def too_many(request: Request, exc: TooManyAttemptsError) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.seconds)}
        )

    @app.exception_handler(psycopg.DataError)
    def bad_data(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # Text PostgreSQL cannot store (a NUL byte) or a value out of a column's range.
        return JSONResponse(
            {"detail": f"invalid value 输入值无效: {exc.diag.message_primary or exc}"},
            status_code=422,
        )

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The field-by-field list stays (clients read it); "message" says it for a person.
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in exc.errors()[:5]
        )
        return JSONResponse(
            {
                "detail": jsonable_encoder(exc.errors()),
                "message": f"输入有误 invalid input — {where}",
            },
            status_code=422,
        )

    @app.exception_handler(ValueError)
    def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)
