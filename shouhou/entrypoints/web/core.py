"""What every page needs: the signed-in actor from the session cookie, the page's language, the CSRF
token of its forms, and rendering with the catalogue's words.

The session cookie holds the API bearer token the person signed in with (HttpOnly, SameSite=Lax,
Secure over HTTPS): the pages act through exactly the same tokens, tenancy and roles as the API. A
form's CSRF token is derived from that session (SHA-256 of a fixed label and the token), so a page
from another site, which cannot read the HttpOnly cookie, cannot forge one; the sign-in form, before
there is a session, uses a random double-submit cookie instead."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...clock import SHANGHAI
from ...domain.actors import Actor
from ...errors import BrokenInvariant, Refusal
from ...services.access import actor_for_token
from ...services.app import Shouhou
from . import i18n

SESSION = "shouhou_session"
LOGIN_CSRF = "shouhou_login_csrf"
HOME = {"staff": "/shop/tickets", "buyer": "/buyer/orders", "platform": "/console/interventions"}


def csrf_for(secret: str) -> str:
    return hashlib.sha256(b"shouhou-csrf:" + secret.encode()).hexdigest()[:40]


def new_login_secret() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Page:
    request: Request
    sh: Shouhou
    lang: str
    now: datetime
    actor: Actor | None = None
    token: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def signed_in(self) -> Actor:
        """The actor, on a route that has already sent everyone else to sign in."""
        if self.actor is None:
            raise BrokenInvariant("a signed-in page without an actor")
        return self.actor

    @property
    def csrf(self) -> str:
        return csrf_for(self.token or "")

    def t(self, message: str) -> str:
        return i18n.gettext(self.lang, message)

    def label(self, kind: str, key: str | None) -> str:
        """The catalogue's word for a status, type, reason, action... (`kind:key`); the key itself
        where the catalogue has none (an event type added since)."""
        if key is None:
            return "—"
        word = self.t(f"{kind}:{key}")
        return key if word == f"{kind}:{key}" else word

    def csrf_ok(self, sent: str | None) -> bool:
        return self.token is not None and sent is not None and hmac.compare_digest(sent, self.csrf)

    def login_redirect(self) -> RedirectResponse:
        target = self.request.url.path + (f"?{self.request.url.query}" if self.request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    def remember(self, response: Response) -> Response:
        """Cookies the page decided on (the language chosen with ?lang=)."""
        if self.request.query_params.get("lang") in i18n.LANGS:
            response.set_cookie(i18n.COOKIE, self.lang, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    def render(self, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        env = i18n.environment(self.lang)
        html = env.get_template(template).render(
            page=self, lang=self.lang, actor=self.actor, csrf=self.csrf, now=self.now, path=self.request.url.path,
            t=self.t, when=self.when, label=self.label, **ctx)
        return self.remember(HTMLResponse(html, status_code=status))  # type: ignore[return-value]

    def when(self, iso: str | None) -> str:
        """An instant as people read it: 03-05 13:00 (Asia/Shanghai)."""
        if not iso:
            return "—"
        return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")

    def refusal(self, r: Refusal) -> dict[str, Any]:
        """A refusal in the page's language, with its rule IDs."""
        return {"code": r.code, "message": r.message_zh if self.lang == "zh" else r.message_en,
                "rules": list(r.rules)}


def page(request: Request) -> Page:
    """The page's context: language, the engine's time, and who is signed in (None when nobody is, or
    the session's token was revoked or has expired)."""
    sh: Shouhou = request.app.state.shouhou
    pg = Page(request=request, sh=sh, lang=i18n.negotiate(request), now=sh.clock.now())
    token = request.cookies.get(SESSION)
    if token:
        try:
            with sh.uow(write=False) as uow:
                pg.actor = actor_for_token(uow, token)
        except Refusal:
            pg.actor = None
        pg.token = token if pg.actor is not None else None
    return pg
