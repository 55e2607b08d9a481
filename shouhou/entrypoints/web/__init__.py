"""The web workbench: server-rendered pages over the same services as the API (pages.py), in Chinese
and English from Babel catalogues (i18n.py), with their own static files, and the API docs served
from local assets (the fastapi-offline package ships Swagger UI and ReDoc): nothing loads from a CDN."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from . import buyer, desk
from .pages import router

HERE = Path(__file__).resolve().parent
DOC_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """The pages, their static files, and /docs and /redoc on local assets."""
    app.mount("/static/docs", StaticFiles(directory=DOC_ASSETS), name="doc-assets")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(buyer.router)
    app.include_router(desk.router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="shouhou 售后 API",
                                   swagger_js_url="/static/docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static/docs/swagger-ui.css",
                                   swagger_favicon_url="/static/docs/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="shouhou 售后 API",
                              redoc_js_url="/static/docs/redoc.standalone.js",
                              redoc_favicon_url="/static/docs/favicon.png", with_google_fonts=False)
