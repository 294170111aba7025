"""Every dependency of every route runs on the event loop: FastAPI runs a plain `def` dependency in
its thread pool, and two such hops per decision tripled the decision's latency (0.8 -> 2.6 ms p50)."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute


def _calls(dependant):
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _api_routes(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:  # an included router
            yield from _api_routes(router.routes)
        elif hasattr(route, "routes"):
            yield from _api_routes(route.routes)


def test_no_route_nor_dependency_is_a_plain_function(app):
    found, routes = set(), list(_api_routes(app.routes))
    assert len(routes) > 40
    for route in routes:
        if not inspect.iscoroutinefunction(route.endpoint):
            found.add(f"{route.path}: the route function {route.endpoint.__qualname__}")
        for call in _calls(route.dependant):
            if inspect.isclass(call):
                continue
            function = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__
            if not (inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)):
                found.add(f"{route.path}: {call.__module__}.{getattr(call, '__qualname__', call)}")
    assert found == set(), sorted(found)
