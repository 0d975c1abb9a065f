"""The review web server: a Starlette app serving the page, its assets and one review file's JSON API.

It serves nothing else from the disk: the three assets are read from the package into memory when
the app is made, and the only file it reads or writes is the one NAME.align.json it was given.
Every request needs the run's token (``?token=``, the ``X-Align-Token`` header, or the cookie the
page sets on first load) or gets 403; an edit (POST) needs the header, so another site cannot post
one with the cookie. The page itself builds its DOM with textContent only, under a strict CSP.

    GET  /                     the page (sets the token cookie)
    GET  /static/{app.js,app.css}
    GET  /api/alignment        the review as the page renders it (view)
    POST /api/edit             {"op": ..., ...} (apply); saved at once; 400/409 {"error": ...}
    GET  /api/export/{fmt}     a download of the corrected memory (?confirmed_only=1)
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from http.cookies import SimpleCookie
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..errors import AlignError
from ..io.write import FORMATS
from .store import EditError, Review, apply, load, save, view
from .exports import export_bytes

ASSETS = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "app.css": "text/css; charset=utf-8"}
MAX_BODY = 64 * 1024
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-store", "X-Frame-Options": "DENY"}
MIME = {"tmx": "application/x-tmx+xml", "csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
        "jsonl": "application/jsonl; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def new_token() -> str:
    return secrets.token_urlsafe(24)


def load_assets() -> dict[str, bytes]:
    folder = resources.files("align.review") / "static"
    return {name: (folder / name).read_bytes() for name in ASSETS}


class Session:
    """The review being edited: held in memory, saved to its file after every edit (under a lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.review = load(self.path)
        self.lock = threading.Lock()

    def edit(self, edit: dict) -> Review:
        with self.lock:
            new = apply(self.review, edit)
            save(new, self.path)  # refused edits and failed saves leave the file as it was
            self.review = new
            return new


class TokenGate:
    """ASGI middleware: 403 unless the request carries the token."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token
        self.cookie = cookie_name(token)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self.allowed(scope):
            response = PlainTextResponse("forbidden: open the URL that `align review` printed (it holds the token)",
                                         status_code=403, headers=HEADERS)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def allowed(self, scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = [headers.get("x-align-token", "")]
        if scope.get("method") == "GET":  # an edit needs the header: no cross-site form can set it
            given += parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
            jar = SimpleCookie()
            try:
                jar.load(headers.get("cookie", ""))
            except Exception:  # noqa: BLE001 - a malformed cookie header is no token
                pass
            if self.cookie in jar:
                given.append(jar[self.cookie].value)
        return any(g and secrets.compare_digest(g.encode(), self.token.encode()) for g in given)


def cookie_name(token: str) -> str:
    """Cookies ignore ports: each run's cookie has its own name, so two reviews don't clash."""
    return "align_" + hashlib.sha256(token.encode()).hexdigest()[:12]


def make_app(path: str | Path, token: str) -> Starlette:
    """The app for the review file ``path`` (NAME.align.json), answering only requests with ``token``."""
    session = Session(Path(path))
    assets = load_assets()

    def asset(name: str) -> Response:
        return Response(assets[name], media_type=ASSETS[name], headers=HEADERS)

    def index(request: Request) -> Response:
        response = asset("index.html")
        response.set_cookie(cookie_name(token), token, httponly=True, samesite="strict", path="/")
        return response

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS or name == "index.html":
            return PlainTextResponse("not found", status_code=404, headers=HEADERS)
        return asset(name)

    def alignment(request: Request) -> Response:
        return JSONResponse(view(session.review), headers=HEADERS)

    async def edit(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error("the edit is too large", 413)
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error("the edit is not valid JSON", 400)
        from starlette.concurrency import run_in_threadpool

        try:
            review = await run_in_threadpool(session.edit, data)
        except EditError as e:
            return _error(str(e), e.status)
        except AlignError as e:  # the file cannot be saved
            return _error(f"not saved: {e}", 500)
        return JSONResponse(view(review), headers=HEADERS)

    def download(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in FORMATS:
            return _error(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}", 404)
        confirmed_only = request.query_params.get("confirmed_only") in ("1", "true", "yes")
        review = session.review
        data = export_bytes(review, fmt, confirmed_only)
        filename = f"{review.name}{'.confirmed' if confirmed_only else ''}.{fmt}"
        ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
        return Response(data, media_type=MIME[fmt], headers={**HEADERS, "Content-Disposition": disposition})

    async def not_found(request: Request, exc) -> Response:
        return PlainTextResponse("not found", status_code=404, headers=HEADERS)

    async def not_allowed(request: Request, exc) -> Response:
        return PlainTextResponse("method not allowed", status_code=405, headers=HEADERS)

    routes = [Route("/", index), Route("/static/{name}", static), Route("/api/alignment", alignment),
              Route("/api/edit", edit, methods=["POST"]), Route("/api/export/{fmt}", download)]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed},
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"]),
                                Middleware(TokenGate, token=token)])
    app.state.session = session
    return app


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=HEADERS)
