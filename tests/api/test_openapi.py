"""/openapi.json documents every response: each operation's success answer has a schema
that names its fields (not an anonymous object), so clients can be generated from it."""

from __future__ import annotations

from typing import Any

from api.app import create_app
from api.security import Tokens

# Answers whose shape is not one object: a report's rows follow its columns (listed by
# GET /api/v1/reports), /metrics is Prometheus text.
FREE_FORM = {("get", "/api/v1/reports/{name}"), ("get", "/metrics")}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    if schema.get("type") == "array":
        return _resolve(spec, schema["items"])
    return schema


def test_every_operation_documents_its_response() -> None:
    spec = create_app(None, Tokens.with_secret("x" * 40)).openapi()  # type: ignore[arg-type]
    missing = []
    operations = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            operations += 1
            ok = next((op["responses"][c] for c in ("200", "201") if c in op["responses"]), None)
            assert ok is not None, f"{method} {path}: no success response"
            content = ok.get("content", {})
            if (method, path) in FREE_FORM:
                if not any(c.get("schema") for c in content.values()):
                    missing.append(f"{method.upper()} {path}: no schema at all")
                continue
            schema = content.get("application/json", {}).get("schema")
            if not schema:
                missing.append(f"{method.upper()} {path}: no schema")
                continue
            target = _resolve(spec, schema)
            if not target.get("properties"):
                missing.append(f"{method.upper()} {path}: an object without named fields")
    assert operations >= 30
    assert missing == [], "\n".join(missing)
