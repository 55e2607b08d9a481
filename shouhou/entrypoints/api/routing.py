"""Area routers onto the app, route by route."""

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute


def include(app: FastAPI, router: APIRouter) -> None:
    """What `app.include_router(router)` did before FastAPI 0.137: every route of the router registered
    again on the app itself, so it takes the app's defaults (the error `responses`, dependency overrides)
    and stands in `app.routes` as an APIRoute. Since 0.137 include_router keeps the router as a single
    node of `app.routes`, and what walks app.routes for its APIRoutes (the tenancy test of every route
    in tests/e2e/test_api.py, route listings) would no longer see them."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"only path operations can be included this way, not {route!r}")
        app.router.add_api_route(
            route.path, route.endpoint, methods=route.methods, name=route.name,
            response_model=route.response_model, status_code=route.status_code, tags=route.tags,
            dependencies=route.dependencies, summary=route.summary, description=route.description,
            response_description=route.response_description, responses=route.responses,
            deprecated=route.deprecated, operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema, response_class=route.response_class,
            route_class_override=type(route), callbacks=route.callbacks, openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
        )
