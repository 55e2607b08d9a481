"""Languages of the pages: Chinese by default, English on `?lang=en` (remembered in a cookie) or
`Accept-Language: en`. The words live in Babel message catalogues (locale/<lang>/LC_MESSAGES/
messages.po), read once at start-up; each language has its own Jinja environment with its
translations installed, so rendering never swaps translations under another request."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request

HERE = Path(__file__).resolve().parent
LANGS = ("zh", "en")
DEFAULT = "zh"
COOKIE = "shouhou_lang"


@functools.cache
def translations(lang: str) -> Translations:
    """The catalogue of `lang`, compiled in memory from its .po file."""
    with open(HERE / "locale" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


@functools.cache
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(("html",)),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def negotiate(request: Request) -> str:
    """?lang= first, then the remembered choice, then Accept-Language, then Chinese."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    kept = request.cookies.get(COOKIE)
    if kept in LANGS:
        return kept
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh"
    return DEFAULT
