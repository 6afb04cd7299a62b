"""The API function's router: what it took over from Powertools' REST resolver
(matching, error handlers, not found, the proxy response), each rule checked."""

from __future__ import annotations

import base64

import pytest

from tracking_api import api, schema_export
from tracking_api.routing import JSON_TYPE, Request, Response, Router
from tracking_ops.local import proxy


def echo_router() -> Router:
    router = Router()

    @router.get("/things")
    def things(request: Request) -> Response:
        return Response(200, f"things {dict(request.query)}", {"X-Route": "things"})

    @router.post("/things")
    def create(request: Request) -> Response:
        return Response(201, request.body_bytes().decode(), {"X-Type": request.headers["x-type"]})

    @router.get("/")
    def root(_request: Request) -> Response:
        return Response(200, "root")

    @router.not_found
    def missing(request: Request) -> Response:
        return Response(404, f"no {request.method} {request.path}")

    return router


def call(router: Router, method: str, path: str, **kwargs) -> tuple[int, dict[str, str], str]:
    status, headers, body = proxy.decode_response(
        router.resolve(proxy.proxy_event(method, path, **kwargs))
    )
    return status, headers, body.decode()


def test_routes_match_method_and_path():
    router = echo_router()
    assert call(router, "GET", "/things", query="a=1&a=2")[::2] == (200, "things {'a': '2'}")
    assert call(router, "POST", "/things", body="x", headers={"X-Type": "t"})[::2] == (201, "x")
    assert call(router, "GET", "/")[::2] == (200, "root")


@pytest.mark.parametrize("path", ["/things/", "/things//"])
def test_trailing_slashes_are_ignored_as_the_rest_resolver_does(path):
    assert call(echo_router(), "GET", path)[0] == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/things"),
        ("GET", "/things/1"),
        ("GET", "/thing"),
        ("GET", "/thingsx"),
        ("GET", "/thingsX"),  # only slashes are trimmed
    ],
)
def test_another_method_or_path_goes_to_not_found(method, path):
    assert call(echo_router(), method, path)[::2] == (404, f"no {method} {path}")


def test_routes_are_listed_by_method_and_trimmed_path():
    assert echo_router().routes() == [("GET", "/things"), ("POST", "/things"), ("GET", "/")]


def test_an_event_without_method_path_or_body_reads_as_empty():
    request = Request.from_event({})
    assert (request.method, request.path, request.body_bytes()) == ("", "/", b"")
    assert (dict(request.headers), dict(request.query), request.is_base64_encoded) == (
        {},
        {},
        False,
    )


def test_methods_match_whatever_their_case():
    assert call(echo_router(), "get", "/things")[0] == 200


def test_header_names_are_case_insensitive():
    status, headers, _ = call(echo_router(), "POST", "/things", body="", headers={"x-TYPE": "v"})
    assert (status, headers["X-Type"]) == (201, "v")


def test_a_base64_body_is_decoded():
    event = proxy.proxy_event("POST", "/things", headers={"X-Type": "t"})
    event.update(body=base64.b64encode("é".encode()).decode(), isBase64Encoded=True)
    assert proxy.decode_response(echo_router().resolve(event))[2].decode() == "é"


def test_the_response_is_a_rest_proxy_result_with_multi_value_headers():
    result = echo_router().resolve(proxy.proxy_event("GET", "/things"))
    assert result == {
        "statusCode": 200,
        "body": "things {}",
        "isBase64Encoded": False,
        "multiValueHeaders": {"Content-Type": [JSON_TYPE], "X-Route": ["things"]},
    }


class BaseError(Exception):
    pass


class ChildError(BaseError):
    pass


class GrandchildError(ChildError):
    pass


def raising_router(exc: Exception) -> Router:
    router = Router()

    @router.get("/boom")
    def boom(_request: Request) -> Response:
        raise exc

    @router.exception_handler(BaseError)
    def base(error: Exception, request: Request) -> Response:
        return Response(500, f"base {type(error).__name__} {request.path}")

    @router.exception_handler(ChildError)
    def child(error: Exception, _request: Request) -> Response:
        return Response(409, f"child {type(error).__name__}")

    return router


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (BaseError(), (500, "base BaseError /boom")),
        (ChildError(), (409, "child ChildError")),
        (GrandchildError(), (409, "child GrandchildError")),  # the nearest class wins
    ],
)
def test_an_error_goes_to_the_handler_of_its_nearest_class(exc, expected):
    assert call(raising_router(exc), "GET", "/boom")[::2] == expected


def test_an_error_without_a_handler_propagates():
    with pytest.raises(KeyError):
        raising_router(KeyError("x")).resolve(proxy.proxy_event("GET", "/boom"))


def test_no_route_and_no_not_found_handler_is_an_error():
    with pytest.raises(LookupError, match="GET /nowhere"):
        Router().resolve(proxy.proxy_event("GET", "/nowhere"))


def test_a_route_defined_twice_is_refused():
    router = echo_router()
    with pytest.raises(ValueError, match="GET /things/ is defined twice"):
        router.get("/things/")


def test_the_api_serves_exactly_the_routes_of_its_openapi_document():
    documented = [(route["method"], route["path"]) for route in schema_export.ROUTES]
    assert len(documented) == 5  # the comparison below compares something
    assert sorted(api.app.routes()) == sorted(documented)


def test_a_repeated_header_keeps_its_last_value_and_all_values_as_api_gateway():
    from tracking_api.routing import headers_from_pairs

    single, multi = headers_from_pairs(
        [("Content-Type", "a"), ("X-One", "1"), ("content-type", "b")]
    )
    assert single == {"Content-Type": "b", "X-One": "1"}
    assert multi == {"Content-Type": ["a", "b"], "X-One": ["1"]}
