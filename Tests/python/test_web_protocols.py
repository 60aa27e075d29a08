"""gRPC-Web, Connect and CORS on the gRPC port, from plain HTTP (no gRPC library).

What is asserted is the server's contract for browsers (gRPC-Web and Connect unary and
streaming, over HTTP/1.1 and HTTP/2; CORS; the page at `/`), and the protocol texts where the
contract is silent: grpc/grpc's PROTOCOL-WEB.md for gRPC-Web, connectrpc.com's protocol
reference for Connect. Requests go out through `http.client` (HTTP/1.1) or the `h2` package
over a socket (HTTP/2); bodies are built and read by web_protocol.py. Fixtures set the
catalogue up over gRPC, so each test also shows that one handler serves all three protocols.

Every test that sends something bad then checks that the server still answers a good call.
The suite runs on the Storefront transport only: `--transport nio` serves gRPC alone.
"""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from conftest import (
    STOCK_TRANSPORT,
    connected_server,
    create_product,
    unique_category,
    unique_sku,
)
from google.rpc import error_details_pb2, status_pb2
from storefront.v1 import (
    chat_pb2,
    import_pb2,
    product_pb2,
    product_service_pb2,
    product_service_pb2_grpc,
)
from web_protocol import (
    ConnectStream,
    GrpcWebAnswer,
    WebClient,
    answer_of_h2,
    bad_request_fields,
    base64url_unpadded,
    decode_unpadded_base64,
    envelope,
    grpc_web_h2,
    h2_request,
    path_of,
)

pytestmark = pytest.mark.skipif(
    STOCK_TRANSPORT,
    reason="gRPC-Web, Connect and CORS are served by the Storefront transport only "
    "(--transport nio serves gRPC alone)",
)

#: The origin the module's server allows cross-origin (`--web-origin`).
WEB_ORIGIN = "http://shop.test"
#: An origin no server of the module allows.
OTHER_ORIGIN = "http://elsewhere.test"
#: Demo products in the module's server.
DEMO_CATALOGUE = 40
UNKNOWN_ID = "p_00000000000000000000000000"
HEALTH = "grpc.health.v1.Health"
#: gRPC-Web text's content types; the exact echo is pinned by the no-suffix test.
TEXT_TYPES = ("application/grpc-web-text", "application/grpc-web-text+proto")
#: A price above 2^32, so that an int64 sent as a JSON number would show.
BIG_PRICE = 123_456_789_012
#: Products in the module's listing category.
LISTING_SIZE = 5

#: gRPC status codes, as gRPC-Web carries them.
OK, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, UNIMPLEMENTED, INTERNAL = 0, 3, 4, 5, 12, 13

# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    """A server allowing WEB_ORIGIN cross-origin, with a demo catalogue."""
    with connected_server(
        tmp_path_factory.mktemp("storefront-web"),
        "--web-origin",
        WEB_ORIGIN,
        "--enable-compression",
        "--demo-catalog",
        str(DEMO_CATALOGUE),
    ) as server:
        yield server


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory):
    """A server without `--web-origin`: same-origin calls only."""
    with connected_server(tmp_path_factory.mktemp("storefront-web-plain")) as server:
        yield server


@pytest.fixture
def web(web_server):
    client = WebClient(web_server.process.port)
    yield client
    client.close()


@pytest.fixture(scope="module")
def stub(web_server):
    """The admin's gRPC stub, for setting the catalogue up and checking what calls did."""
    return product_service_pb2_grpc.ProductServiceStub(web_server.channel)


@pytest.fixture(scope="module")
def product(stub) -> product_pb2.Product:
    """One known product with an int64 price above 2^32."""
    return create_product(
        stub, name="Web protocol lamp", category=unique_category(), price_cents=BIG_PRICE, stock=7
    )


@pytest.fixture(scope="module")
def listing(stub) -> tuple[str, list[str]]:
    """A category of LISTING_SIZE products of its own, and their ids in id order."""
    category = unique_category()
    ids = [
        create_product(stub, name=f"Listed {n}", category=category).id
        for n in range(LISTING_SIZE)
    ]
    return category, sorted(ids)


@pytest.fixture(scope="module")
def staff_token(web_server) -> str:
    return web_server.token_for("web-staff", "staff")


@pytest.fixture(scope="module")
def shopper_token(web_server) -> str:
    return web_server.token_for("web-shopper", "shopper")


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def get_request(product_id: str) -> bytes:
    """One envelope holding a GetProduct request."""
    return envelope(product_service_pb2.ProductRequest(id=product_id).SerializeToString())


def assert_web_serving(web: WebClient, product: product_pb2.Product) -> None:
    """The server still answers a Connect GetProduct, on the client's connection and on a
    new one."""
    for fresh in (False, True):
        answer = web.request(
            "POST",
            path_of("GetProduct"),
            json.dumps({"id": product.id}).encode(),
            {"content-type": "application/json"},
            fresh=fresh,
        )
        assert answer.status == 200, answer.describe()
        assert answer.json()["product"]["id"] == product.id, answer.describe()


def new_product_json(**fields) -> dict:
    values = {
        "sku": unique_sku(),
        "name": "Made over Connect",
        "category": "pytest-web",
        "priceCents": "2500",
        "currency": "EUR",
        "stock": 3,
    }
    values.update(fields)
    return values


def assert_connect_error(answer, http_status: int, code: str) -> dict:
    """A Connect unary error: the status, JSON `{"code", "message"}` with Connect's name."""
    assert answer.status == http_status, answer.describe()
    assert answer.content_type.split(";")[0].strip() == "application/json", answer.describe()
    error = answer.json()
    assert error.get("code") == code, answer.describe()
    assert isinstance(error.get("message", ""), str), answer.describe()
    return error


# --------------------------------------------------------------------------------------
# gRPC-Web
# --------------------------------------------------------------------------------------


def assert_grpc_web_product(answer, product: product_pb2.Product, content_type: str) -> None:
    assert answer.http.status == 200, answer.describe()
    assert answer.http.content_type == content_type, answer.describe()
    assert len(answer.messages) == 1, answer.describe()
    got = product_service_pb2.ProductResponse.FromString(answer.messages[0]).product
    assert got == product, answer.describe()
    assert answer.trailers is not None, f"no trailer frame: {answer.describe()}"
    assert answer.trailers.get("grpc-status") == "0", answer.describe()
    assert all(name == name.lower() for name in answer.trailers), answer.trailers


def assert_trailers_only_not_found(answer) -> None:
    assert answer.http.status == 200, answer.describe()
    assert answer.trailers_only, f"expected a trailers-only answer: {answer.describe()}"
    assert answer.http.body == b"", answer.describe()
    assert answer.grpc_status == NOT_FOUND, answer.describe()
    assert answer.grpc_message, answer.describe()


def test_grpc_web_binary_get_product_over_http1(web, product):
    answer = web.grpc_web("GetProduct", get_request(product.id))
    assert_grpc_web_product(answer, product, "application/grpc-web+proto")


def test_grpc_web_binary_not_found_is_trailers_only_over_http1(web, product):
    answer = web.grpc_web("GetProduct", get_request(UNKNOWN_ID))
    assert_trailers_only_not_found(answer)
    assert_web_serving(web, product)


def test_grpc_web_binary_get_product_over_http2(web_server, product):
    answer = grpc_web_h2(web_server.address, "GetProduct", get_request(product.id))
    assert_grpc_web_product(answer, product, "application/grpc-web+proto")


def test_grpc_web_binary_not_found_is_trailers_only_over_http2(web_server, web, product):
    answer = grpc_web_h2(web_server.address, "GetProduct", get_request(UNKNOWN_ID))
    assert_trailers_only_not_found(answer)
    assert_web_serving(web, product)


def test_grpc_web_content_type_without_suffix_is_answered_in_kind(web, product):
    answer = web.request(
        "POST",
        path_of("GetProduct"),
        get_request(product.id),
        {"content-type": "application/grpc-web"},
    )
    assert_grpc_web_product(GrpcWebAnswer.of(answer, text=False), product, "application/grpc-web")


def test_grpc_web_text_get_product(web, product):
    answer = web.grpc_web("GetProduct", get_request(product.id), text=True)
    assert answer.http.content_type in TEXT_TYPES, answer.describe()
    assert_grpc_web_product(answer, product, answer.http.content_type)


def test_grpc_web_text_list_products_streams_a_page_in_id_order(web, listing):
    category, ids = listing
    request = product_service_pb2.ProductRequest(category=category, page_size=3)
    answer = web.grpc_web("ListProducts", envelope(request.SerializeToString()), text=True)
    assert answer.http.status == 200, answer.describe()
    assert answer.http.content_type in TEXT_TYPES, answer.describe()
    got = [product_service_pb2.ProductResponse.FromString(m).product.id for m in answer.messages]
    assert got == ids[:3], answer.describe()
    assert answer.trailers is not None and answer.trailers.get("grpc-status") == "0", (
        answer.describe()
    )


def test_grpc_web_binary_list_products_streams_every_product_in_id_order(web, listing):
    category, ids = listing
    request = product_service_pb2.ProductRequest(category=category)
    answer = web.grpc_web("ListProducts", envelope(request.SerializeToString()))
    assert answer.http.status == 200, answer.describe()
    got = [product_service_pb2.ProductResponse.FromString(m).product for m in answer.messages]
    assert [p.id for p in got] == ids, answer.describe()
    assert {p.category for p in got} == {category}
    assert answer.grpc_status == OK and answer.trailers is not None, answer.describe()


def test_grpc_web_list_products_over_http2_streams_the_demo_catalogue(web_server):
    request = product_service_pb2.ProductRequest(category="books", page_size=2)
    answer = grpc_web_h2(web_server.address, "ListProducts", envelope(request.SerializeToString()))
    got = [product_service_pb2.ProductResponse.FromString(m).product for m in answer.messages]
    assert len(got) == 2 and all(p.category == "books" for p in got), answer.describe()
    assert got[0].id < got[1].id
    assert answer.grpc_status == OK, answer.describe()


def test_grpc_web_bidi_chat_over_http1_is_unimplemented(web, product, shopper_token):
    join = chat_pb2.ChatMessage(room=product.id, kind=chat_pb2.ChatMessage.JOIN)
    answer = web.grpc_web(
        "Chat", envelope(join.SerializeToString()), headers=bearer(shopper_token)
    )
    assert answer.http.status == 200, answer.describe()
    assert answer.grpc_status == UNIMPLEMENTED, answer.describe()
    assert "HTTP/2" in answer.grpc_message, answer.describe()
    assert_web_serving(web, product)


def test_grpc_web_grpc_timeout_ends_a_watch_with_deadline_exceeded(web, product):
    request = envelope(b"")  # WatchProductsRequest{}: live changes only, none will come
    answer = web.grpc_web("WatchProducts", request, headers={"grpc-timeout": "300m"})
    assert answer.http.status == 200, answer.describe()
    assert answer.grpc_status == DEADLINE_EXCEEDED, answer.describe()
    assert 0.25 <= answer.http.elapsed < 5, answer.describe()
    assert_web_serving(web, product)


def test_grpc_web_envelope_longer_than_the_body_is_internal(web, product):
    message = product_service_pb2.ProductRequest(id=product.id).SerializeToString()
    truncated = bytes([0]) + (len(message) + 100).to_bytes(4, "big") + message
    answer = web.grpc_web("GetProduct", truncated)
    assert answer.http.status == 200, answer.describe()
    assert answer.messages == [], answer.describe()
    assert answer.grpc_status == INTERNAL, answer.describe()
    assert_web_serving(web, product)


def test_grpc_web_unknown_method_is_unimplemented(web, product):
    answer = web.grpc_web("NoSuchMethod", get_request(product.id))
    assert answer.http.status == 200, answer.describe()
    assert answer.grpc_status == UNIMPLEMENTED, answer.describe()
    assert_web_serving(web, product)


def test_grpc_web_client_stream_import_over_http1(web, web_server, stub):
    category = unique_category()
    products = [
        product_pb2.Product(
            sku=unique_sku(),
            name=f"Web import {n}",
            category=category,
            price_cents=100,
            currency="USD",
            stock=1,
        )
        for n in range(2)
    ]
    body = b"".join(
        envelope(import_pb2.ImportProductsRequest(product=p).SerializeToString())
        for p in products
    )
    answer = web.grpc_web("ImportProducts", body, headers=bearer(web_server.token))
    assert answer.grpc_status == OK, answer.describe()
    [summary] = [import_pb2.ImportProductsResponse.FromString(m) for m in answer.messages]
    assert (summary.created, summary.failed) == (2, 0), summary
    listed = list(stub.ListProducts(product_service_pb2.ProductRequest(category=category)))
    assert sorted(r.product.sku for r in listed) == sorted(p.sku for p in products)


def test_grpc_web_invalid_create_carries_bad_request_details(web, staff_token, product):
    bad = product_pb2.Product(sku=unique_sku(), name="", price_cents=-5, currency="USD")
    request = product_service_pb2.CreateProductRequest(product=bad)
    answer = web.grpc_web(
        "CreateProduct", envelope(request.SerializeToString()), headers=bearer(staff_token)
    )
    assert answer.grpc_status == INVALID_ARGUMENT, answer.describe()
    source = answer.trailers if answer.trailers is not None else answer.http.headers
    encoded = source.get("grpc-status-details-bin")
    assert encoded, f"no grpc-status-details-bin: {answer.describe()}"
    status = status_pb2.Status.FromString(decode_unpadded_base64(encoded))
    assert status.code == INVALID_ARGUMENT and status.message == answer.grpc_message
    fields = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        assert detail.Unpack(bad_request), detail.type_url
        fields += [violation.field for violation in bad_request.field_violations]
    assert {"product.name", "product.price_cents"} <= set(fields), status
    assert_web_serving(web, product)


def test_grpc_web_answers_carry_the_request_id(web, product):
    answer = web.grpc_web("GetProduct", get_request(product.id), headers={"x-request-id": "gw-1"})
    assert answer.http.header("x-request-id") == "gw-1", answer.describe()


# --------------------------------------------------------------------------------------
# Connect unary
# --------------------------------------------------------------------------------------


def assert_product_json(got: dict, product: product_pb2.Product) -> None:
    """The canonical protobuf JSON of `product`: lowerCamelCase names, int64 as a string."""
    assert got["id"] == product.id
    assert got["sku"] == product.sku
    assert got["name"] == product.name
    assert got["category"] == product.category
    assert got["priceCents"] == str(BIG_PRICE), got  # int64: a JSON string
    assert got["stock"] == 7, got  # int32: a JSON number
    assert got["currency"] == product.currency
    assert got["etag"] == product.etag
    assert got["createTime"].endswith("Z"), got  # Timestamp: RFC 3339 in UTC
    assert not [name for name in got if "_" in name], f"snake_case names in {got}"


def test_connect_unary_json_get_product(web, product):
    answer = web.connect_json("GetProduct", {"id": product.id})
    assert answer.status == 200, answer.describe()
    assert answer.content_type.split(";")[0] == "application/json", answer.describe()
    assert_product_json(answer.json()["product"], product)


def test_connect_unary_json_over_http2(web_server, product):
    response = h2_request(
        web_server.address,
        path_of("GetProduct"),
        json.dumps({"id": product.id}).encode(),
        content_type="application/json",
        headers=[("connect-protocol-version", "1")],
    )
    answer = answer_of_h2(response)
    assert answer.status == 200, answer.describe()
    assert_product_json(answer.json()["product"], product)


def test_connect_json_requests_may_use_the_proto_field_names(web, product):
    # Canonical protobuf JSON parsers accept the proto field name as well as lowerCamelCase.
    listing = web.connect_stream(
        "ListProducts",
        envelope(json.dumps({"category": product.category, "page_size": 1}).encode()),
    )
    assert listing.error is None, listing.describe()
    assert [m["product"]["id"] for m in listing.json_messages()] == [product.id]


def test_connect_unary_proto_get_product(web, product):
    answer = web.connect_proto("GetProduct", product_service_pb2.ProductRequest(id=product.id))
    assert answer.status == 200, answer.describe()
    assert answer.content_type == "application/proto", answer.describe()
    assert product_service_pb2.ProductResponse.FromString(answer.body).product == product


def test_connect_unary_proto_not_found_is_a_json_error(web, product):
    answer = web.connect_proto("GetProduct", product_service_pb2.ProductRequest(id=UNKNOWN_ID))
    error = assert_connect_error(answer, 404, "not_found")
    assert error["message"], answer.describe()
    assert_web_serving(web, product)


def test_connect_get_with_json_message(web, product):
    answer = web.connect_get(
        "GetProduct",
        {"connect": "v1", "encoding": "json", "message": json.dumps({"id": product.id})},
    )
    assert answer.status == 200, answer.describe()
    assert answer.content_type.split(";")[0] == "application/json", answer.describe()
    assert_product_json(answer.json()["product"], product)


def test_connect_get_with_base64_proto_message(web, product):
    message = product_service_pb2.ProductRequest(id=product.id).SerializeToString()
    answer = web.connect_get(
        "GetProduct",
        {
            "connect": "v1",
            "encoding": "proto",
            "base64": "1",
            "message": base64url_unpadded(message),
        },
    )
    assert answer.status == 200, answer.describe()
    assert answer.content_type == "application/proto", answer.describe()
    assert product_service_pb2.ProductResponse.FromString(answer.body).product == product


def test_connect_get_of_the_health_check(web):
    answer = web.connect_get(
        "Check", {"connect": "v1", "encoding": "json", "message": "{}"}, service=HEALTH
    )
    assert answer.status == 200, answer.describe()
    assert answer.json() == {"status": "SERVING"}, answer.describe()


def test_connect_unary_accepts_a_gzip_request_body(web, product):
    answer = web.request(
        "POST",
        path_of("GetProduct"),
        gzip.compress(json.dumps({"id": product.id}).encode()),
        {"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert answer.status == 200, answer.describe()
    assert answer.json()["product"]["id"] == product.id


def test_connect_get_of_a_write_method_is_method_not_allowed(web, stub, product):
    sku = unique_sku()
    answer = web.connect_get(
        "CreateProduct",
        {
            "connect": "v1",
            "encoding": "json",
            "message": json.dumps({"product": new_product_json(sku=sku)}),
        },
    )
    assert answer.status == 405, answer.describe()
    assert "post" in answer.tokens("allow"), f"a 405 names the allowed methods: {answer.describe()}"
    assert_web_serving(web, product)


def test_connect_request_id_is_returned_and_a_client_one_kept(web, product):
    generated = web.connect_json("GetProduct", {"id": product.id})
    assert generated.status == 200, generated.describe()
    assert generated.header("x-request-id"), f"no x-request-id: {generated.describe()}"
    own = f"web-{uuid.uuid4().hex}"
    kept = web.connect_json("GetProduct", {"id": product.id}, {"x-request-id": own})
    assert kept.header("x-request-id") == own, kept.describe()
    failed = web.connect_json("GetProduct", {"id": UNKNOWN_ID}, {"x-request-id": own + "-2"})
    # An error is trailers-only in gRPC, so the id is trailing metadata: `trailer-` in Connect.
    failed_id = failed.header("x-request-id") or failed.header("trailer-x-request-id")
    assert failed.status == 404 and failed_id == own + "-2", failed.describe()


# --------------------------------------------------------------------------------------
# Connect streaming
# --------------------------------------------------------------------------------------


def test_connect_server_stream_json(web, listing):
    category, ids = listing
    stream = web.connect_stream(
        "ListProducts", envelope(json.dumps({"category": category, "pageSize": 4}).encode())
    )
    assert stream.http.content_type == "application/connect+json", stream.describe()
    got = stream.json_messages()
    assert [m["product"]["id"] for m in got] == ids[:4], stream.describe()
    assert all(isinstance(m["product"]["priceCents"], str) for m in got), got
    assert stream.error is None, stream.describe()
    assert set(stream.end) <= {"metadata"}, stream.describe()


def test_connect_server_stream_proto(web, listing):
    category, ids = listing
    request = product_service_pb2.ProductRequest(category=category)
    body = envelope(request.SerializeToString())
    stream = web.connect_stream("ListProducts", body, codec="proto")
    assert stream.http.content_type == "application/connect+proto", stream.describe()
    got = [product_service_pb2.ProductResponse.FromString(m).product.id for m in stream.messages]
    assert got == ids, stream.describe()
    assert stream.error is None, stream.describe()


def test_connect_server_stream_error_is_in_the_end_of_stream_message(web, product):
    stream = web.connect_stream(
        "ListProducts", envelope(json.dumps({"minPriceCents": "-1"}).encode())
    )
    assert stream.messages == [], stream.describe()
    error = stream.error
    assert error is not None and error["code"] == "invalid_argument", stream.describe()
    assert "min_price_cents" in bad_request_fields(error), stream.describe()
    assert_web_serving(web, product)


def test_connect_client_stream_import_with_several_envelopes_over_http1(web, web_server, stub):
    category = unique_category()
    products = [new_product_json(category=category, name=f"Imported {n}") for n in range(3)]
    body = b"".join(envelope(json.dumps({"product": p}).encode()) for p in products)
    stream = web.connect_stream("ImportProducts", body, headers=bearer(web_server.token))
    assert stream.error is None, stream.describe()
    [summary] = stream.json_messages()
    assert summary.get("created") == "3", summary  # int64: a JSON string
    listed = list(stub.ListProducts(product_service_pb2.ProductRequest(category=category)))
    assert sorted(r.product.sku for r in listed) == sorted(p["sku"] for p in products)


def test_connect_bidi_chat_over_http1_is_a_clear_error(web, product, shopper_token):
    join = {"room": product.id, "kind": "JOIN"}
    answer = web.request(
        "POST",
        path_of("Chat"),
        envelope(json.dumps(join).encode()),
        {"content-type": "application/connect+json", **bearer(shopper_token)},
        fresh=True,
    )
    # The contract names gRPC-Web's answer (UNIMPLEMENTED); for Connect either an
    # end-of-stream error or an HTTP-level refusal (connect-go answers 505) is clear.
    if answer.status == 200:
        stream = ConnectStream.of(answer)
        assert stream.messages == [], stream.describe()
        assert stream.error is not None and stream.error["code"] == "unimplemented", (
            stream.describe()
        )
        assert "HTTP/2" in stream.error.get("message", ""), stream.describe()
    else:
        assert answer.status in (501, 505), answer.describe()
    assert_web_serving(web, product)


def test_connect_timeout_ends_a_watch_with_deadline_exceeded(web, product):
    stream = web.connect_stream(
        "WatchProducts", envelope(b"{}"), headers={"connect-timeout-ms": "300"}
    )
    assert stream.messages == [], stream.describe()
    assert stream.error is not None and stream.error["code"] == "deadline_exceeded", (
        stream.describe()
    )
    assert 0.25 <= stream.http.elapsed < 5, stream.describe()
    # Response metadata are headers: the watch's starting sequence.
    assert stream.http.header("x-change-sequence"), stream.describe()
    assert_web_serving(web, product)


# --------------------------------------------------------------------------------------
# Errors, details and auth
# --------------------------------------------------------------------------------------


def test_create_with_invalid_fields_as_staff_is_invalid_argument_with_bad_request(
    web, staff_token, product
):
    bad = new_product_json(name="", priceCents="-5")
    answer = web.connect_json("CreateProduct", {"product": bad}, bearer(staff_token))
    error = assert_connect_error(answer, 400, "invalid_argument")
    assert error["message"], answer.describe()
    assert [d["type"] for d in error["details"]] == ["google.rpc.BadRequest"], answer.describe()
    assert {"product.name", "product.price_cents"} <= set(bad_request_fields(error))
    assert_web_serving(web, product)


def test_create_without_a_token_is_unauthenticated(web, stub, product):
    category = unique_category()
    answer = web.connect_json("CreateProduct", {"product": new_product_json(category=category)})
    assert_connect_error(answer, 401, "unauthenticated")
    assert list(stub.ListProducts(product_service_pb2.ProductRequest(category=category))) == []
    assert_web_serving(web, product)


def test_staff_create_over_connect_and_a_shopper_is_permission_denied(
    web, stub, staff_token, shopper_token
):
    category = unique_category()
    created = web.connect_json(
        "CreateProduct", {"product": new_product_json(category=category)}, bearer(staff_token)
    )
    assert created.status == 200, created.describe()
    made = created.json()["product"]
    assert made["id"] and made["etag"] and made["priceCents"] == "2500", made
    got = stub.GetProduct(product_service_pb2.ProductRequest(id=made["id"])).product
    assert got.category == category and got.price_cents == 2500

    denied = web.connect_json(
        "CreateProduct", {"product": new_product_json(category=category)}, bearer(shopper_token)
    )
    assert_connect_error(denied, 403, "permission_denied")
    listed = list(stub.ListProducts(product_service_pb2.ProductRequest(category=category)))
    assert [r.product.id for r in listed] == [made["id"]]


def test_login_over_connect_gives_a_token_that_connect_calls_accept(web, web_server, stub):
    web_server.token_for("web-staff-login", "staff")  # adds the user
    login = web.connect_json(
        "Login",
        {"username": "web-staff-login", "password": "pytest-password"},
        service="storefront.v1.AuthService",
    )
    assert login.status == 200, login.describe()
    body = login.json()
    assert body["tokenType"] == "Bearer" and body["role"] == "staff", body
    created = web.connect_json(
        "CreateProduct", {"product": new_product_json()}, bearer(body["accessToken"])
    )
    assert created.status == 200, created.describe()


# --------------------------------------------------------------------------------------
# Bad requests
# --------------------------------------------------------------------------------------


def test_an_unsupported_content_type_is_415(web, product):
    answer = web.request(
        "POST",
        path_of("GetProduct"),
        json.dumps({"id": product.id}).encode(),
        {"content-type": "text/plain"},
    )
    assert answer.status == 415, answer.describe()
    assert_web_serving(web, product)


def test_connect_envelope_longer_than_the_body_is_invalid_argument(web, product):
    message = json.dumps({"category": product.category}).encode()
    body = bytes([0]) + (len(message) + 100).to_bytes(4, "big") + message
    stream = web.connect_stream("ListProducts", body)
    assert stream.messages == [], stream.describe()
    assert stream.error is not None and stream.error["code"] == "invalid_argument", (
        stream.describe()
    )
    assert_web_serving(web, product)


@pytest.mark.parametrize(
    "body",
    [b'{"id": ', b"not json", b'["p_1"]', b'{"id": 5}', b""],
    ids=["truncated", "not-json", "array", "number-for-string", "empty"],
)
def test_connect_malformed_json_is_invalid_argument(web, product, body):
    answer = web.request(
        "POST", path_of("GetProduct"), body, {"content-type": "application/json"}
    )
    assert_connect_error(answer, 400, "invalid_argument")
    assert_web_serving(web, product)


def test_connect_malformed_proto_is_invalid_argument(web, product):
    answer = web.request(
        "POST", path_of("GetProduct"), b"\xff\xff\xff", {"content-type": "application/proto"}
    )
    assert_connect_error(answer, 400, "invalid_argument")
    assert_web_serving(web, product)


def test_connect_unknown_method_is_404_unimplemented(web, product):
    answer = web.connect_json("NoSuchMethod", {"id": product.id})
    assert_connect_error(answer, 404, "unimplemented")
    unknown_service = web.connect_json("Get", {}, service="storefront.v1.NoSuchService")
    assert_connect_error(unknown_service, 404, "unimplemented")
    assert_web_serving(web, product)


def test_http1_keep_alive_serves_requests_in_turn_after_errors(web, product):
    # One connection: a good call, a 404, a 415, a malformed envelope, a good call.
    assert web.connect_json("GetProduct", {"id": product.id}).status == 200
    assert web.connect_json("GetProduct", {"id": UNKNOWN_ID}).status == 404
    wrong_type = web.request("POST", path_of("GetProduct"), b"x", {"content-type": "text/x"})
    assert wrong_type.status == 415
    assert web.grpc_web("GetProduct", b"\x00\x00\x00\x00\x09\x0a").grpc_status == INTERNAL
    answer = web.connect_json("GetProduct", {"id": product.id})
    assert answer.status == 200 and answer.json()["product"]["id"] == product.id


# --------------------------------------------------------------------------------------
# CORS
# --------------------------------------------------------------------------------------

PREFLIGHT_HEADERS = "content-type, connect-protocol-version, authorization, x-grpc-web"


def preflight(web: WebClient, origin: str, method: str = "POST"):
    return web.request(
        "OPTIONS",
        path_of("GetProduct"),
        headers={
            "origin": origin,
            "access-control-request-method": method,
            "access-control-request-headers": PREFLIGHT_HEADERS,
        },
    )


def test_cors_preflight_from_an_allowed_origin_is_204_with_the_allow_headers(web):
    answer = preflight(web, WEB_ORIGIN)
    assert answer.status == 204, answer.describe()
    assert answer.header("access-control-allow-origin") == WEB_ORIGIN, answer.describe()
    assert {"get", "post"} <= set(answer.tokens("access-control-allow-methods")), answer.describe()
    requested = {name.strip() for name in PREFLIGHT_HEADERS.split(",")}
    assert requested <= set(answer.tokens("access-control-allow-headers")), answer.describe()
    assert answer.header("access-control-max-age") == "7200", answer.describe()
    assert "origin" in answer.tokens("vary"), answer.describe()
    assert answer.body == b""


def test_cors_preflight_from_another_origin_is_403(web, product):
    answer = preflight(web, OTHER_ORIGIN)
    assert answer.status == 403, answer.describe()
    assert answer.header("access-control-allow-origin") is None, answer.describe()
    assert_web_serving(web, product)


def test_a_request_from_another_origin_is_403_and_runs_nothing(web, web_server, stub, product):
    category = unique_category()
    answer = web.connect_json(
        "CreateProduct",
        {"product": new_product_json(category=category)},
        {"origin": OTHER_ORIGIN, **bearer(web_server.token)},
    )
    assert answer.status == 403, answer.describe()
    assert answer.header("access-control-allow-origin") is None, answer.describe()
    assert list(stub.ListProducts(product_service_pb2.ProductRequest(category=category))) == []
    grpc_web = web.request(
        "POST",
        path_of("GetProduct"),
        get_request(product.id),
        {"content-type": "application/grpc-web+proto", "origin": OTHER_ORIGIN},
    )
    assert grpc_web.status == 403, grpc_web.describe()
    assert b"Web protocol lamp" not in grpc_web.body, grpc_web.describe()
    assert_web_serving(web, product)


def test_an_allowed_cross_origin_response_exposes_the_headers_a_browser_needs(web, product):
    answer = web.connect_json("GetProduct", {"id": product.id}, {"origin": WEB_ORIGIN})
    assert answer.status == 200, answer.describe()
    assert answer.header("access-control-allow-origin") == WEB_ORIGIN, answer.describe()
    assert "origin" in answer.tokens("vary"), answer.describe()
    exposed = set(answer.tokens("access-control-expose-headers"))
    assert {"grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"} <= exposed, (
        answer.describe()
    )
    grpc_web = web.grpc_web("GetProduct", get_request(product.id), headers={"origin": WEB_ORIGIN})
    assert grpc_web.http.header("access-control-allow-origin") == WEB_ORIGIN, grpc_web.describe()
    assert "grpc-status" in grpc_web.http.tokens("access-control-expose-headers")


def test_without_web_origin_same_origin_is_allowed_and_cross_origin_refused(plain_server):
    web = WebClient(plain_server.process.port)
    made = create_product(product_service_pb2_grpc.ProductServiceStub(plain_server.channel))
    try:
        same = web.connect_json("GetProduct", {"id": made.id}, {"origin": web.origin})
        assert same.status == 200, same.describe()
        assert same.json()["product"]["id"] == made.id
        assert preflight(web, WEB_ORIGIN).status == 403
        cross = web.connect_json("GetProduct", {"id": made.id}, {"origin": WEB_ORIGIN})
        assert cross.status == 403, cross.describe()
        # No Origin at all (curl, a server-side client) is no cross-origin call.
        assert web.connect_json("GetProduct", {"id": made.id}).status == 200
    finally:
        web.close()


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


def test_the_page_is_served_at_the_root(web):
    answer = web.request("GET", "/")
    assert answer.status == 200, answer.describe()
    assert answer.content_type.split(";")[0] == "text/html", answer.describe()
    assert b"<html" in answer.body.lower(), answer.describe()
    assert "no-cache" in answer.tokens("cache-control"), answer.describe()


def test_an_unknown_file_is_404(web, product):
    answer = web.request("GET", "/nope.js")
    assert answer.status == 404, answer.describe()
    assert_web_serving(web, product)
