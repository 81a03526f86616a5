"""``aic api`` and ``aic users``: serve the HTTP API; manage staff passwords."""

from __future__ import annotations

import typer

from cli.context import console, fail, runtime

users_app = typer.Typer(help="API users (staff) and their passwords.", no_args_is_help=True)


def api(
    host: str = typer.Option("127.0.0.1", help="listen address"),
    port: int = typer.Option(8000, min=1, max=65535),
) -> None:
    """Serve the API (OpenAPI at /docs) with uvicorn until Ctrl-C."""
    import uvicorn

    from api.app import create_app
    from api.security import Tokens

    with runtime() as rt:
        s = rt.settings
        if s.jwt_secret is None:
            console.print(
                "[yellow]AIC_JWT_SECRET not set: tokens are valid for this process only[/]"
            )
        tokens = Tokens.with_secret(
            s.jwt_secret, access_minutes=s.access_token_minutes, refresh_hours=s.refresh_token_hours
        )
        app = create_app(
            rt.pool, tokens, clock=rt.clock, statement_timeout_s=s.api_statement_timeout_s
        )
        console.print(f"API on http://{host}:{port}/docs")
        uvicorn.run(app, host=host, port=port, log_level=s.log_level.lower())


@users_app.command("set-password")
def set_password(
    staff_id: str,
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="at least 10 characters"
    ),
) -> None:
    """Set (or reset) a staff member's API password."""
    from api.repository import set_password as store
    from api.security import hash_password

    if len(password) < 10:
        raise fail("the password needs at least 10 characters")
    with runtime() as rt, rt.pool.connection() as conn:
        if not store(
            conn, staff_id=staff_id, password_hash=hash_password(password), now=rt.clock.now()
        ):
            raise fail(f"no staff member {staff_id!r} (load the fleet first)")
    console.print(f"password set for {staff_id}")
