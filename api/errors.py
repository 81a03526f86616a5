"""The one place where domain errors become HTTP answers (never a 500 for bad input)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from core.errors import NotFoundError
from scheduler.errors import InvalidTransitionError, StockError


def install(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(InvalidTransitionError)
    def invalid_transition(request: Request, exc: InvalidTransitionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "reason": exc.reason}, status_code=409)

    @app.exception_handler(StockError)
    def stock(request: Request, exc: StockError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "reason": exc.reason}, status_code=409)

    @app.exception_handler(ValueError)
    def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)
