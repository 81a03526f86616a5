"""What every response and request goes through: security headers, a body-size limit, and
a same-origin check on state-changing requests (CSRF backstop behind SameSite=Strict)."""

from __future__ import annotations

import asyncio
import html
import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.throttle import TooManyAttemptsError

MAX_BODY_BYTES = 1024 * 1024
SIGN_IN_PATHS = ("/api/v1/auth/token", "/login")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Pages use inline scripts and styles of their own and nothing from elsewhere; /docs
# (Swagger UI) loads its assets from a CDN, so it gets no policy.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


async def _answer(
    send: Send, status: int, body: bytes, content_type: bytes, retry_after: int | None
) -> None:
    extra = [(b"retry-after", str(retry_after).encode())] if retry_after else []
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *HEADERS,
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse(send: Send, status: int, detail: str, *, retry_after: int | None = None) -> None:
    """A JSON refusal, as the API's own errors look."""
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await _answer(send, status, body, b"application/json; charset=utf-8", retry_after)


class Guard:
    """Pure ASGI middleware (it must see the body stream, which BaseHTTPMiddleware hides)."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"] in SIGN_IN_PATHS:
            # A locked-out address is refused here, before the form is read or a route
            # runs: a flood of bad sign-ins must cost the server as little as possible.
            state = scope["app"].state
            client = scope.get("client")
            wait = state.throttle.address_wait(client[0] if client else None, state.clock.now())
            if wait is not None:
                error = TooManyAttemptsError(wait)
                # Tarpit: hold the refusal (asleep, nothing else waits on it) so a loop of
                # bad sign-ins can only ask as fast as it is answered.
                await asyncio.sleep(getattr(state, "refusal_delay_s", 0.0))
                if scope["path"] == "/login":  # a person at the dashboard: a page, not JSON
                    await _page(send, 429, str(error), retry_after=error.seconds)
                else:
                    await _refuse(send, 429, str(error), retry_after=error.seconds)
                return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] in UNSAFE and not _same_origin(headers):
            await _refuse(send, 403, "cross-site request refused 跨站请求被拒绝")
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await _refuse(send, 413, f"request body over {self.max_body} bytes 请求内容过大")
            return
        seen = 0
        too_big = False

        async def limited() -> Message:
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    too_big = True
                    return {"type": "http.disconnect"}
            return message

        docs = scope["path"].startswith(("/docs", "/redoc"))
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if too_big:  # whatever the app made of the cut-off body, the answer is 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(
                        send, 413, f"request body over {self.max_body} bytes 请求内容过大"
                    )
                return
            if message["type"] == "http.response.start":
                started = True
                extra = list(HEADERS)
                if not docs:
                    extra.append((b"content-security-policy", CSP.encode()))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, limited, with_headers)
        if too_big and not started:
            await _refuse(send, 413, f"request body over {self.max_body} bytes 请求内容过大")


async def _page(send: Send, status: int, text: str, *, retry_after: int) -> None:
    """A refusal for a person at the dashboard: a small page in Chinese first."""
    body = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<p id="login-error">{html.escape(text)}</p><p><a href="/login">返回登录 Back</a></p>'
    ).encode()
    await _answer(send, status, body, b"text/html; charset=utf-8", retry_after)


def _same_origin(headers: dict[str, str]) -> bool:
    """A browser's state-changing request must come from our own pages: its Origin (or,
    lacking one, its Referer) names this host. Clients that send neither (curl, robots,
    scripts with a bearer token) are not browsers riding on a cookie, so they pass."""
    source = headers.get("origin") or headers.get("referer")
    if not source or (source == "null" and "cookie" not in headers):
        return True
    host = headers.get("host", "")
    return urlsplit(source).netloc == host
