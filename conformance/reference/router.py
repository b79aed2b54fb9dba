"""One server process, many servers: path prefixes select a faulty or variant instance.

`/_faults/<a>+<b>/v1/...` → the app wrapped in faults a and b; `/_variant/<name>/v1/...` → a faithful
app with a named legal Variant; `/_variant/<name>/_faults/<a>+<b>/v1/...` → that variant wrapped in
the faults (a canned model behind a faulty gateway); anything else → the faithful app. Instances are
built on first use and cached. Owns only the prefix scheme; faults and variants come from their catalogues.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.reference.api_error import ApiError, ErrorType
from conformance.reference.app import create_app, error_response, is_http
from conformance.reference.faults import FAULTS, build_app, unknown_fault_error
from conformance.reference.responses import request_id
from conformance.reference.variant import CANNED_MODELS, VARIANTS, named

FAULTS_PREFIX = "/_faults/"
VARIANT_PREFIX = "/_variant/"


def fault_base_path(*names: str) -> str:
    """The path prefix that selects these faults (append `/v1/...`)."""
    return FAULTS_PREFIX + "+".join(names)


def variant_base_path(name: str, *faults: str) -> str:
    """The path prefix that selects this variant, wrapped in ``faults`` when given (append `/v1/...`)."""
    return VARIANT_PREFIX + name + (fault_base_path(*faults) if faults else "")


class FaultRouter:
    """Dispatches by path prefix to lazily built faulty or variant apps sharing one API key."""

    def __init__(self, *, api_key: str) -> None:
        self._api_key = api_key
        self._faithful = create_app(api_key=api_key)
        self._apps: dict[str, ASGIApp] = {}

    def _select(self, path: str) -> tuple[ASGIApp, str] | str:
        for prefix in (FAULTS_PREFIX, VARIANT_PREFIX):
            if path.startswith(prefix):
                selector, _, rest = path[len(prefix) :].partition("/")
                faults = ""
                if prefix == VARIANT_PREFIX and ("/" + rest).startswith(FAULTS_PREFIX):
                    faults, _, rest = rest[len(FAULTS_PREFIX) - 1 :].partition("/")
                app = self._instance(prefix, selector, faults)
                return app if isinstance(app, str) else (app, "/" + rest)
        return self._faithful, path

    def _instance(self, prefix: str, selector: str, faults: str = "") -> ASGIApp | str:
        key = prefix + selector + (FAULTS_PREFIX + faults if faults else "")
        if key in self._apps:
            return self._apps[key]
        names = (selector if prefix == FAULTS_PREFIX else faults).split("+") if (prefix == FAULTS_PREFIX or faults) else []
        unknown = [n for n in names if n not in FAULTS]
        if unknown:
            return str(unknown_fault_error(unknown[0]))
        if prefix == FAULTS_PREFIX:
            app = build_app(api_key=self._api_key, faults=names)
        else:
            variant = named(selector)
            if variant is None:
                return f"unknown variant {selector!r}; known variants: {', '.join(sorted({**VARIANTS, **CANNED_MODELS}))}"
            app = build_app(api_key=self._api_key, faults=names, variant=variant) if names else create_app(api_key=self._api_key, variant=variant)
        self._apps[key] = app
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await is_http(scope, receive, send):
            return
        selected = self._select(scope["path"])
        if isinstance(selected, str):
            response = error_response(ApiError(ErrorType.NOT_FOUND, selected), request_id())
            await response(scope, receive, send)
            return
        app, path = selected
        if path != scope["path"]:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await app(scope, receive, send)
