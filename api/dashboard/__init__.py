"""The web dashboard: server-rendered pages on the same app as the API."""

from __future__ import annotations

from fastapi import APIRouter

from api.dashboard import engineers, fleet, orders, reports, service, session
from api.dashboard.common import HERE, CsrfError, LoginRequiredError

router = APIRouter(include_in_schema=False)
# service before orders: /ui/orders/new is not an order id.
for module in (session, service, orders, fleet, engineers, reports):
    router.include_router(module.router)

__all__ = ["HERE", "CsrfError", "LoginRequiredError", "router"]
