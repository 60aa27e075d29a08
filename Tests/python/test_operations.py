"""End-to-end tests of what operators rely on: the grpc.health.v1 and server reflection
services, Prometheus metrics, JSON logs and settings, and a graceful drain on SIGTERM.

Health and reflection use the official clients (grpcio-health-checking, grpcio-reflection),
never stubs generated from Protos/grpc. Tests that need flags, their own data folder, their
own logs or a signal start a server of their own with `start_server`.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import grpc
import pytest
from conftest import (
    READ_TIMEOUT,
    RPC_TIMEOUT,
    SHUTDOWN_TIMEOUT,
    STREAM_END,
    TRANSPORT,
    StreamReader,
    create_product,
    server_binary,
    unique_category,
    unique_sku,
)
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from storefront.v1 import (
    image_pb2,
    import_pb2,
    product_pb2,
    product_service_pb2,
    product_service_pb2_grpc,
)
from test_storefront import ChatMessage, ChatSession, get_product, list_products, png_image, upload
from test_streams import UNKNOWN_ID, Watch, download, poll

Code = grpc.StatusCode

PRODUCT_SERVICE = "storefront.v1.ProductService"
UNKNOWN_SERVICE = "storefront.v1.NoSuchService"
ALL_SERVICES = {
    PRODUCT_SERVICE,
    "storefront.v1.AuthService",
    "storefront.v1.UserService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}
REFLECTION_V1_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
#: gRPC's NOT_FOUND, as reflection's error_response carries it.
NOT_FOUND_CODE = 5

#: Seconds a stream of these tests may live; each lasts far less.
STREAM_DEADLINE = 60.0
#: Seconds to wait for a condition that a poll checks.
POLL_TIMEOUT = 10.0
#: Seconds a stream must stay quiet to count as "still open, sending nothing".
QUIET = 1.5


def own_stub(server):
    return product_service_pb2_grpc.ProductServiceStub(server.channel)


def next_item(reader: StreamReader, what: str, timeout: float = READ_TIMEOUT):
    """The next queued item of `reader`: a message, `STREAM_END` or the call's RpcError."""
    try:
        return reader._incoming.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"{what}: nothing within {timeout:.0f} s")


def assert_quiet(reader: StreamReader, what: str, seconds: float = QUIET) -> None:
    """`reader`'s stream sends nothing and stays open for `seconds`."""
    try:
        item = reader._incoming.get(timeout=seconds)
    except queue.Empty:
        return
    pytest.fail(f"{what}: expected an open, quiet stream, got {item!r}")


def assert_stream_ended(reader: StreamReader, what: str, allowed=(Code.UNAVAILABLE,)) -> list:
    """Reads to the end of the stream; it must end well or with one of `allowed` codes.

    Returns the messages that came before the end.
    """
    received = []
    while True:
        item = next_item(reader, f"{what} (after {len(received)} messages)")
        if item is STREAM_END:
            return received
        if isinstance(item, grpc.RpcError):
            assert item.code() in allowed, (
                f"{what} ended with {item.code()} {item.details()!r}, expected OK or {allowed}"
            )
            return received
        received.append(item)


def wait_for_exit(server, timeout: float) -> int:
    """Waits for `server`'s process to exit after SIGTERM; its exit code."""
    try:
        return server.process.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"the server did not exit within {timeout:.0f} s of SIGTERM. "
            f"Its output:\n{server.process.output()}"
        )


# --------------------------------------------------------------------------------------
# Health
# --------------------------------------------------------------------------------------


def health_stub(server):
    return health_pb2_grpc.HealthStub(server.channel)


def check(server, service: str) -> int:
    return health_stub(server).Check(health_pb2.HealthCheckRequest(service=service)).status


class HealthWatch(StreamReader):
    """One grpc.health.v1.Health/Watch stream, read by a thread into a queue."""

    def __init__(self, server, service: str = "") -> None:
        request = health_pb2.HealthCheckRequest(service=service)
        super().__init__(health_stub(server).Watch(request, timeout=STREAM_DEADLINE))
        self.service = service

    def next_status(self) -> int:
        item = next_item(self, f"health Watch({self.service!r})")
        if item is STREAM_END or isinstance(item, grpc.RpcError):
            pytest.fail(f"health Watch({self.service!r}) ended: {item!r}")
        return item.status


def status_name(status: int) -> str:
    return health_pb2.HealthCheckResponse.ServingStatus.Name(status)


@pytest.mark.parametrize("service", ["", PRODUCT_SERVICE], ids=["server", "product-service"])
def test_health_check_answers_serving(server, service):
    assert status_name(check(server, service)) == "SERVING"


def test_health_check_of_an_unknown_service_is_not_found(server, assert_serving):
    with pytest.raises(grpc.RpcError) as info:
        check(server, UNKNOWN_SERVICE)
    assert info.value.code() == Code.NOT_FOUND, info.value.details()
    assert_serving()


def test_health_list_reports_the_server_and_the_product_service_serving(server):
    response = health_stub(server).List(health_pb2.HealthListRequest())
    statuses = {service: status_name(value.status) for service, value in response.statuses.items()}
    assert statuses == {"": "SERVING", PRODUCT_SERVICE: "SERVING"}


@pytest.mark.parametrize("service", ["", PRODUCT_SERVICE], ids=["server", "product-service"])
def test_health_watch_sends_serving_at_once_and_stays_open(server, service):
    with HealthWatch(server, service) as watch:
        assert status_name(watch.next_status()) == "SERVING"
        assert_quiet(watch, f"Watch({service!r}) while nothing changes")


def test_health_watch_of_an_unknown_service_sends_service_unknown_and_stays_open(server):
    with HealthWatch(server, UNKNOWN_SERVICE) as watch:
        assert status_name(watch.next_status()) == "SERVICE_UNKNOWN"
        assert_quiet(watch, "Watch of an unknown service")


def test_health_reports_not_serving_while_the_store_file_is_gone(start_server):
    server = start_server("--health-probe-interval", "0.2")
    database = server.process.data_dir / "storefront.sqlite"
    moved = database.with_name("storefront.sqlite.moved")
    assert database.is_file()

    with HealthWatch(server) as watch, HealthWatch(server, PRODUCT_SERVICE) as service_watch:
        assert status_name(watch.next_status()) == "SERVING"
        assert status_name(service_watch.next_status()) == "SERVING"

        database.rename(moved)
        try:
            assert status_name(watch.next_status()) == "NOT_SERVING"
            assert status_name(service_watch.next_status()) == "NOT_SERVING"
            assert status_name(check(server, "")) == "NOT_SERVING"
            assert status_name(check(server, PRODUCT_SERVICE)) == "NOT_SERVING"
            statuses = health_stub(server).List(health_pb2.HealthListRequest()).statuses
            assert {s: status_name(v.status) for s, v in statuses.items()} == {
                "": "NOT_SERVING",
                PRODUCT_SERVICE: "NOT_SERVING",
            }
            assert_quiet(watch, "Watch while the store stays unreachable")
        finally:
            moved.rename(database)

        assert status_name(watch.next_status()) == "SERVING"
        assert status_name(service_watch.next_status()) == "SERVING"
        assert status_name(check(server, "")) == "SERVING"
        assert status_name(check(server, PRODUCT_SERVICE)) == "SERVING"
        # The store works again through the API too.
        stub = own_stub(server)
        product = create_product(stub)
        assert get_product(stub, product.id).id == product.id


def test_health_turns_not_serving_at_sigterm_and_the_watch_ends(start_server):
    server = start_server()
    with HealthWatch(server) as watch, HealthWatch(server, PRODUCT_SERVICE) as service_watch:
        assert status_name(watch.next_status()) == "SERVING"
        assert status_name(service_watch.next_status()) == "SERVING"

        server.process.process.send_signal(signal.SIGTERM)

        for reader in (watch, service_watch):
            assert status_name(reader.next_status()) == "NOT_SERVING"
            item = next_item(reader, f"Watch({reader.service!r}) after NOT_SERVING")
            assert item is STREAM_END, (
                f"Watch({reader.service!r}) should end (status OK) after NOT_SERVING, got {item!r}"
            )
    assert wait_for_exit(server, SHUTDOWN_TIMEOUT) == 0


# --------------------------------------------------------------------------------------
# Reflection
# --------------------------------------------------------------------------------------

ReflectionRequest = reflection_pb2.ServerReflectionRequest
ReflectionResponse = reflection_pb2.ServerReflectionResponse


class ReflectionStream(StreamReader):
    """One ServerReflectionInfo stream: `ask` sends a request and returns its answer."""

    def __init__(self, call_factory) -> None:
        self._outgoing: queue.Queue = queue.Queue()
        super().__init__(call_factory(iter(self._outgoing.get, STREAM_END)))

    def __exit__(self, *exc_info) -> None:
        self._outgoing.put(STREAM_END)
        super().__exit__(*exc_info)

    def close(self) -> None:
        """Half-closes the stream; the server must then end it with OK."""
        self._outgoing.put(STREAM_END)
        item = next_item(self, "the reflection stream after the client half-closed")
        assert item is STREAM_END, f"the reflection stream ended with {item!r}, expected OK"

    def ask(self, request: ReflectionRequest) -> ReflectionResponse:
        self._outgoing.put(request)
        item = next_item(self, f"reflection answer to {request}")
        if item is STREAM_END or isinstance(item, grpc.RpcError):
            pytest.fail(f"the reflection stream ended after {request}: {item!r}")
        assert item.original_request == request, f"original_request: {item.original_request}"
        return item


def v1alpha_stream(server) -> ReflectionStream:
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel)
    return ReflectionStream(lambda requests: stub.ServerReflectionInfo(requests, timeout=30))


def v1_stream(server) -> ReflectionStream:
    # grpcio-reflection ships no v1 client; v1's messages are v1alpha's on the wire.
    method = server.channel.stream_stream(
        REFLECTION_V1_METHOD,
        request_serializer=ReflectionRequest.SerializeToString,
        response_deserializer=ReflectionResponse.FromString,
    )
    return ReflectionStream(lambda requests: method(requests, timeout=30))


def file_names(response: ReflectionResponse) -> list[str]:
    assert response.WhichOneof("message_response") == "file_descriptor_response", response
    names = []
    for data in response.file_descriptor_response.file_descriptor_proto:
        names.append(descriptor_pb2.FileDescriptorProto.FromString(data).name)
    return names


def test_reflection_client_lists_exactly_the_served_services(server):
    database = ProtoReflectionDescriptorDatabase(server.channel)
    services = list(database.get_services())
    assert sorted(services) == sorted(ALL_SERVICES)


def test_a_get_product_built_only_from_reflection_returns_the_product(server, stub):
    created = create_product(stub, name="Reflected", description="Built from descriptors")

    database = ProtoReflectionDescriptorDatabase(server.channel)
    file = database.FindFileContainingSymbol(PRODUCT_SERVICE)
    assert file.name == "storefront/v1/product_service.proto"
    assert PRODUCT_SERVICE.rsplit(".", 1)[1] in [service.name for service in file.service]

    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName(PRODUCT_SERVICE)
    method = service.methods_by_name["GetProduct"]
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    # Classes of the reflected pool, not the generated modules the other tests import.
    assert request_class.DESCRIPTOR.full_name == "storefront.v1.ProductRequest"
    assert request_class.DESCRIPTOR.file.pool is pool
    assert response_class.DESCRIPTOR.full_name == "storefront.v1.ProductResponse"

    get_product_call = server.channel.unary_unary(
        f"/{PRODUCT_SERVICE}/GetProduct",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    answer = get_product_call(request_class(id=created.id), timeout=RPC_TIMEOUT)

    assert isinstance(answer, response_class)
    product = answer.product
    assert product.DESCRIPTOR.full_name == "storefront.v1.Product"
    for field_name in (
        "id",
        "sku",
        "name",
        "description",
        "category",
        "price_cents",
        "currency",
        "stock",
        "etag",
    ):
        assert getattr(product, field_name) == getattr(created, field_name), field_name
    assert (product.name, product.description) == ("Reflected", "Built from descriptors")
    assert product.create_time.seconds == created.create_time.seconds > 0
    assert product.create_time.nanos == created.create_time.nanos
    assert product.update_time.seconds == created.update_time.seconds


def test_reflection_unknown_symbol_is_not_found_and_the_stream_goes_on(server):
    with v1alpha_stream(server) as stream:
        unknown = stream.ask(ReflectionRequest(file_containing_symbol="storefront.v1.NoSuchThing"))
        assert unknown.WhichOneof("message_response") == "error_response", unknown
        assert unknown.error_response.error_code == NOT_FOUND_CODE

        unknown_file = stream.ask(ReflectionRequest(file_by_filename="storefront/v1/nothing.proto"))
        assert unknown_file.WhichOneof("message_response") == "error_response", unknown_file
        assert unknown_file.error_response.error_code == NOT_FOUND_CODE

        # The same stream still answers.
        listed = stream.ask(ReflectionRequest(list_services=""))
        assert listed.WhichOneof("message_response") == "list_services_response", listed
        assert {s.name for s in listed.list_services_response.service} == ALL_SERVICES

        found = stream.ask(ReflectionRequest(file_containing_symbol="storefront.v1.Product"))
        assert file_names(found)[0] == "storefront/v1/product.proto"
        stream.close()


def test_reflection_file_by_filename_returns_the_file_and_its_dependency(server):
    with v1alpha_stream(server) as stream:
        response = stream.ask(ReflectionRequest(file_by_filename="storefront/v1/product.proto"))
        stream.close()
    names = file_names(response)
    assert names[0] == "storefront/v1/product.proto", names
    assert sorted(names) == ["google/protobuf/timestamp.proto", "storefront/v1/product.proto"]
    product_file = descriptor_pb2.FileDescriptorProto.FromString(
        response.file_descriptor_response.file_descriptor_proto[0]
    )
    assert product_file.package == "storefront.v1"
    assert list(product_file.dependency) == ["google/protobuf/timestamp.proto"]
    assert "Product" in [message.name for message in product_file.message_type]


def test_reflection_v1_lists_the_services_too(server):
    with v1_stream(server) as stream:
        listed = stream.ask(ReflectionRequest(list_services=""))
        assert listed.WhichOneof("message_response") == "list_services_response", listed
        assert sorted(s.name for s in listed.list_services_response.service) == sorted(ALL_SERVICES)
        unknown = stream.ask(ReflectionRequest(file_containing_symbol="storefront.v1.Nope"))
        assert unknown.error_response.error_code == NOT_FOUND_CODE
        stream.close()


# --------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------

METRICS_URL = re.compile(
    r"serving metrics.*?(http://127\.0\.0\.1:(\d+)/metrics)|"
    r"(http://127\.0\.0\.1:(\d+)/metrics).*?serving metrics"
)
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
TYPE_LINE = re.compile(
    r"# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)"
)


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str] = field(hash=False)
    value: float


def parse_labels(text: str, line: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = LABEL_PAIR.match(text, position)
        assert match, f"bad labels at {text[position:]!r} in {line!r}"
        label, raw = match.groups()
        assert label not in labels, f"label {label} twice in {line!r}"
        labels[label] = re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), raw)
        position = match.end()
        if position < len(text):
            assert text[position] == ",", f"expected ',' at {text[position:]!r} in {line!r}"
            position += 1
    return labels


def parse_exposition(text: str) -> list[Sample]:
    """Parses Prometheus text format 0.0.4; fails the test on any line that does not parse."""
    samples: list[Sample] = []
    typed: set[str] = set()
    assert text.endswith("\n"), "the exposition must end with a newline"
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            if line.startswith("# TYPE"):
                match = TYPE_LINE.fullmatch(line)
                assert match, f"bad TYPE line {line!r}"
                assert match.group(1) not in typed, f"second TYPE for {match.group(1)}"
                typed.add(match.group(1))
            elif line.startswith("# HELP"):
                assert re.fullmatch(r"# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*", line), line
            continue
        match = METRIC_NAME.match(line)
        assert match, f"no metric name in {line!r}"
        metric = match.group()
        rest = line[match.end() :]
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            end = rest.rfind("}")
            assert end > 0, f"unclosed labels in {line!r}"
            labels = parse_labels(rest[1:end], line)
            rest = rest[end + 1 :]
        parts = rest.split()
        assert rest[:1] in (" ", "\t") and 1 <= len(parts) <= 2, f"bad sample line {line!r}"
        try:
            value = float(parts[0])
        except ValueError:
            pytest.fail(f"bad value {parts[0]!r} in {line!r}")
        if len(parts) == 2:
            assert re.fullmatch(r"-?\d+", parts[1]), f"bad timestamp in {line!r}"
        samples.append(Sample(metric, labels, value))
    return samples


class Metrics:
    def __init__(self, samples: list[Sample]) -> None:
        self.samples = samples

    def find(self, metric: str, **labels: str) -> list[Sample]:
        return [
            sample
            for sample in self.samples
            if sample.name == metric
            and all(sample.labels.get(key) == value for key, value in labels.items())
        ]

    def value(self, metric: str, **labels: str) -> float:
        """The one sample of `metric` whose labels include `labels`; 0 when there is none."""
        found = self.find(metric, **labels)
        assert len(found) <= 1, f"{len(found)} samples of {metric} {labels}: {found}"
        return found[0].value if found else 0.0

    def __repr__(self) -> str:
        return "\n".join(f"{s.name}{s.labels} {s.value}" for s in self.samples)


def http_get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=RPC_TIMEOUT) as response:
            return response.status, response.headers["content-type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read().decode()


def scrape(url: str) -> Metrics:
    status, content_type, body = http_get(url)
    assert status == 200, body
    assert content_type.split(";")[0].strip() == "text/plain", content_type
    return Metrics(parse_exposition(body))


def scrape_until(url: str, condition: Callable[[Metrics], None]) -> Metrics:
    """Scrapes until `condition` (which asserts) holds, up to POLL_TIMEOUT seconds."""
    deadline = time.monotonic() + POLL_TIMEOUT
    while True:
        metrics = scrape(url)
        try:
            condition(metrics)
            return metrics
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def metrics_url(server) -> str:
    match = server.process.wait_for_stderr(METRICS_URL, timeout=READ_TIMEOUT)
    return match.group(1) or match.group(3)


def method_of(rpc: str) -> str:
    return f"{PRODUCT_SERVICE}/{rpc}"


def test_metrics_endpoint_counts_rpcs_bytes_queries_and_chat(start_server):
    server = start_server("--metrics-port", "0")
    url = metrics_url(server)
    stub = own_stub(server)

    product = create_product(stub)
    with pytest.raises(grpc.RpcError) as info:
        get_product(stub, UNKNOWN_ID)
    assert info.value.code() == Code.NOT_FOUND
    image = png_image(seed=7)
    [uploaded] = upload(stub, product.id, image).images
    metadata, chunks = download(stub, uploaded.image_id, chunk_size=1024)
    downloaded = sum(len(chunk) for chunk in chunks)
    assert downloaded == len(image.data) == metadata.size_bytes

    def rpcs_and_bytes(metrics: Metrics) -> None:
        handled = "storefront_rpc_handled_total"
        assert metrics.value(handled, method=method_of("CreateProduct"), code="OK") >= 1, metrics
        assert metrics.value(handled, method=method_of("GetProduct"), code="NOT_FOUND") >= 1
        assert metrics.value(handled, method=method_of("UploadProductImages"), code="OK") >= 1
        assert metrics.value(handled, method=method_of("DownloadProductImage"), code="OK") >= 1
        assert metrics.value("storefront_image_upload_bytes_total") == len(image.data), metrics
        assert metrics.value("storefront_image_download_bytes_total") == downloaded, metrics
        assert metrics.value("storefront_store_query_duration_seconds_count", kind="read") >= 1

    metrics = scrape_until(url, rpcs_and_bytes)

    # The latency histogram of CreateProduct: cumulative buckets up to +Inf, which is the count.
    labels = {"method": method_of("CreateProduct"), "code": "OK"}
    buckets = metrics.find("storefront_rpc_duration_seconds_bucket", **labels)
    assert buckets, f"no storefront_rpc_duration_seconds_bucket for {labels}:\n{metrics}"
    bounds = [float(sample.labels["le"]) for sample in buckets]
    assert bounds == sorted(bounds) and math.isinf(bounds[-1]), bounds
    counts = [sample.value for sample in buckets]
    assert counts == sorted(counts), counts
    count = metrics.value("storefront_rpc_duration_seconds_count", **labels)
    assert count >= 1 and counts[-1] == count
    assert metrics.value("storefront_rpc_duration_seconds_sum", **labels) > 0

    with ChatSession(stub) as member:
        member.join_and_wait(product.id, "metrics-watcher")

        def chat_occupied(metrics: Metrics) -> None:
            assert metrics.value("storefront_chat_rooms") >= 1, metrics
            assert metrics.value("storefront_chat_members") >= 1, metrics

        scrape_until(url, chat_occupied)
        member.send(ChatMessage.LEAVE, room=product.id)
        member.finish()
        assert_stream_ended(member, "the chat after LEAVE", allowed=())

    def chat_empty(metrics: Metrics) -> None:
        assert metrics.value("storefront_chat_rooms") == 0, metrics
        assert metrics.value("storefront_chat_members") == 0, metrics

    scrape_until(url, chat_empty)


def test_metrics_endpoint_answers_404_off_metrics(start_server):
    server = start_server("--metrics-port", "0")
    url = metrics_url(server)
    base = url.removesuffix("/metrics")
    for path in ("/other", "/", "/metrics/more"):
        status, _, _ = http_get(base + path)
        assert status == 404, path
    # Query strings do not change the page.
    assert scrape(url + "?x=1").samples


# --------------------------------------------------------------------------------------
# Logs and settings
# --------------------------------------------------------------------------------------

LOG_KEYS = {"time", "level", "label", "message"}
LEVELS = {"trace", "debug", "info", "notice", "warning", "error", "critical"}
RPC_LOG_KEYS = {"request-id", "rpc.method", "peer", "status", "duration"}


def json_log(lines: list[str]) -> list[dict]:
    """Every line parsed as a JSON log object; fails on any line that is not one."""
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            pytest.fail(f"a log line is not JSON ({error}): {line!r}")
        assert isinstance(event, dict), line
        assert LOG_KEYS <= event.keys(), f"missing {LOG_KEYS - event.keys()} in {line!r}"
        assert event["level"] in LEVELS, line
        assert isinstance(event["label"], str) and event["label"], line
        assert isinstance(event["message"], str) and event["message"], line
        time_text = event["time"]
        assert isinstance(time_text, str), line
        assert datetime.fromisoformat(time_text.replace("Z", "+00:00")).tzinfo, line
        events.append(event)
    return events


def stopped_log(server) -> list[dict]:
    """Stops `server` (which must exit 0) and returns its whole JSON log."""
    assert server.process.stop() == 0
    return json_log(server.process.stderr_lines())


def test_json_log_has_one_line_per_finished_rpc(start_server):
    server = start_server("--log-format", "json")
    stub = own_stub(server)
    prefix = f"py-req-{uuid.uuid4().hex[:12]}"

    def ids(suffix: str):
        return (("x-request-id", f"{prefix}-{suffix}"),)

    request = product_service_pb2.CreateProductRequest(
        product=product_pb2.Product(
            sku=unique_sku(),
            name="Logged",
            description="Logged by the Python end-to-end tests.",
            category="pytest",
            price_cents=1999,
            currency="USD",
            stock=5,
        )
    )
    created = stub.CreateProduct(request, metadata=ids("create")).product
    with pytest.raises(grpc.RpcError):
        stub.GetProduct(product_service_pb2.ProductRequest(id=UNKNOWN_ID), metadata=ids("get"))
    listed = list(stub.ListProducts(product_service_pb2.ProductRequest(), metadata=ids("list")))
    assert [response.product.id for response in listed] == [created.id]

    events = stopped_log(server)
    # The fixture's sign-in is logged too; this test counts its own calls.
    finished = [
        event
        for event in events
        if event["message"] == "rpc finished" and not event["rpc.method"].endswith("/Login")
    ]
    for event in finished:
        assert RPC_LOG_KEYS <= event.keys(), f"missing {RPC_LOG_KEYS - event.keys()} in {event}"
        assert event["peer"], event
        assert event["duration"], event
    by_id = {event["request-id"]: event for event in finished}
    assert len(by_id) == len(finished) == 3, finished
    expected = {
        f"{prefix}-create": ("CreateProduct", "OK"),
        f"{prefix}-get": ("GetProduct", "NOT_FOUND"),
        f"{prefix}-list": ("ListProducts", "OK"),
    }
    assert {
        request_id: (event["rpc.method"], event["status"]) for request_id, event in by_id.items()
    } == {request_id: (method_of(rpc), status) for request_id, (rpc, status) in expected.items()}


def serve_help() -> str:
    result = subprocess.run(
        [server_binary(), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def documented_options() -> dict[str, str | None]:
    """Every option of `storefront serve --help` and its documented default (None: none)."""
    options: dict[str, str | None] = {}
    current: str | None = None
    text: list[str] = []

    def close() -> None:
        if current is not None:
            match = re.search(r"\(default: ([^)]*)\)", " ".join(" ".join(text).split()))
            options[current] = match.group(1) if match else None

    section = serve_help().split("OPTIONS:", 1)[1]
    for line in section.splitlines():
        match = re.match(r"\s+(?:-\w, )?--([a-z0-9-]+)(?: <[^>]+>)?(.*)", line)
        if match:
            close()
            current, text = match.group(1), [match.group(2)]
        else:
            text.append(line)
    close()
    options.pop("help", None)
    assert len(options) > 20, options
    return options


def test_first_log_line_lists_every_setting_with_its_effective_value(start_server, tmp_path):
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"demo-catalog": 5, "chat-rate": 2.5, "log-format": "json"}))
    server = start_server(
        "--config",
        str(config),
        "--demo-catalog",
        "3",
        env={"STOREFRONT_DEMO_CATALOG": "7", "STOREFRONT_CHAT_BURST": "9"},
    )
    events = stopped_log(server)
    first = events[0]
    assert first["message"] == "effective settings", first

    options = documented_options()
    settings = {key: value for key, value in first.items() if key not in LOG_KEYS}
    assert set(settings) == set(options), (
        f"not logged: {set(options) - set(settings)}; unknown: {set(settings) - set(options)}"
    )
    given = {
        "config": str(config),
        "demo-catalog": "3",  # the command line beats the environment and the file
        "chat-burst": "9",  # the environment
        "chat-rate": "2.5",  # the file
        "log-format": "json",  # the file
        "host": "127.0.0.1",
        "port": "0",
        "data-dir": str(server.process.data_dir),
        "database": "unset",
        "database-password-file": "unset",
        "transport": TRANSPORT,  # every server of the suite is given the suite's
        "metrics-port": "unset",
        "enable-compression": "false",
        "require-auth-for-reads": "false",
        "token-key-file": "unset",
        "tls-cert": "unset",
        "tls-key": "unset",
        "tls-client-ca": "unset",
        "web-origin": "unset",
        "web-root": "unset",
    }
    expected = {option: given.get(option, default) for option, default in options.items()}
    assert {o: v for o, v in expected.items() if v is None} == {}, "no default documented"
    assert settings == expected


def product_count(server) -> int:
    return len(list_products(own_stub(server)))


def write_config(tmp_path: Path, settings: dict) -> Path:
    path = tmp_path / f"config-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(settings))
    return path


def test_environment_variable_sets_an_option(start_server):
    server = start_server(env={"STOREFRONT_DEMO_CATALOG": "7"})
    assert product_count(server) == 7


def test_config_file_given_by_flag_sets_an_option(start_server, tmp_path):
    config = write_config(tmp_path, {"demo-catalog": 5})
    assert product_count(start_server("--config", str(config))) == 5


def test_config_file_given_by_environment_sets_an_option(start_server, tmp_path):
    config = write_config(tmp_path, {"demo-catalog": 5})
    assert product_count(start_server(env={"STOREFRONT_CONFIG": str(config)})) == 5


def test_environment_beats_the_config_file(start_server, tmp_path):
    config = write_config(tmp_path, {"demo-catalog": 5})
    server = start_server("--config", str(config), env={"STOREFRONT_DEMO_CATALOG": "7"})
    assert product_count(server) == 7


def test_command_line_beats_the_environment_and_the_config_file(start_server, tmp_path):
    config = write_config(tmp_path, {"demo-catalog": 5})
    server = start_server(
        "--config", str(config), "--demo-catalog", "3", env={"STOREFRONT_DEMO_CATALOG": "7"}
    )
    assert product_count(server) == 3


@pytest.mark.parametrize("given_by", ["flag", "environment"])
def test_unknown_key_in_the_config_file_stops_the_server(tmp_path, given_by):
    config = write_config(tmp_path, {"demo-catalog": 5, "no-such-setting": 1})
    args = [server_binary(), "serve", "--host", "127.0.0.1", "--port", "0"]
    args += ["--data-dir", str(tmp_path / "data")]
    env = dict(os.environ)
    if given_by == "flag":
        args += ["--config", str(config)]
    else:
        env["STOREFRONT_CONFIG"] = str(config)
    try:
        result = subprocess.run(
            args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"the server kept running with an unknown config key: {timeout.stdout!r}")
    assert result.returncode != 0, result.stdout + result.stderr
    assert "listening on" not in result.stdout
    assert "no-such-setting" in result.stderr, result.stderr


# --------------------------------------------------------------------------------------
# Graceful drain on SIGTERM
# --------------------------------------------------------------------------------------

GRACE = 5.0
#: Load threads: most share the connection of the test's other calls (grpcio shares one
#: connection among channels to one address, as clients usually do); every third has a
#: connection of its own.
LOAD_THREADS = 9
#: Seconds after SIGTERM by which the server has surely begun to shut down; calls started
#: later must not be accepted.
SHUTDOWN_STARTED = 1.0
#: Seconds a server may take to exit after SIGTERM: the grace period and a margin.
EXIT_BOUND = GRACE + 5
#: The drained server's import batch size: small, so that a held import commits some.
DRAIN_BATCH = 7


@dataclass
class CallRecord:
    sku: str
    started: float
    ended: float
    code: grpc.StatusCode | None  # None: acknowledged
    details: str = ""
    product_id: str = ""


class Load:
    """Threads calling CreateProduct in a loop, recording every call and how it ended."""

    def __init__(self, address: str, category: str, token: str = "") -> None:
        self.address = address
        self.category = category
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.records: list[CallRecord] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(index % 3 == 2,), daemon=True)
            for index in range(LOAD_THREADS)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _run(self, own_connection: bool) -> None:
        options = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
        with grpc.insecure_channel(self.address, options=options) as channel:
            stub = product_service_pb2_grpc.ProductServiceStub(channel)
            while not self._stop.is_set():
                sku = unique_sku()
                request = product_service_pb2.CreateProductRequest(
                    product=product_pb2.Product(
                        sku=sku,
                        name="Drained",
                        description="Written while the server shuts down.",
                        category=self.category,
                        price_cents=100,
                        currency="USD",
                        stock=1,
                    )
                )
                started = time.monotonic()
                try:
                    product = stub.CreateProduct(
                        request, timeout=RPC_TIMEOUT, metadata=self.metadata
                    ).product
                    record = CallRecord(sku, started, time.monotonic(), None, "", product.id)
                except grpc.RpcError as error:
                    ended = time.monotonic()
                    record = CallRecord(sku, started, ended, error.code(), error.details())
                with self._lock:
                    self.records.append(record)
                if record.code is not None:
                    time.sleep(0.02)  # the server is gone: do not spin

    def acknowledged(self) -> list[CallRecord]:
        with self._lock:
            return [record for record in self.records if record.code is None]

    def stop(self) -> None:
        """Stops the threads; each call has a deadline, so none may still be running after."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=RPC_TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in self._threads), (
            "a call outlived its deadline"
        )


class FedStream(threading.Thread):
    """A client-streaming call fed by a thread of its own: `head`, then `filler()` every
    `interval` seconds, `count` times (or until the call ends when `count` is None).
    Records the response, or the code the call ended with."""

    def __init__(self, method, head: list, filler, interval: float, count: int | None) -> None:
        super().__init__(daemon=True)
        self.method = method
        self.head = head
        self.filler = filler
        self.interval = interval
        self.count = count
        self.response = None
        self.code: grpc.StatusCode | None = None
        self.details = ""
        self.ended_at: float | None = None
        self._done = threading.Event()

    def _requests(self):
        yield from self.head
        sent = 0
        while (self.count is None or sent < self.count) and not self._done.is_set():
            time.sleep(self.interval)
            yield self.filler()
            sent += 1

    def run(self) -> None:
        try:
            self.response = self.method(self._requests(), timeout=STREAM_DEADLINE)
        except grpc.RpcError as error:
            self.code = error.code()
            self.details = error.details() or ""
        finally:
            self.ended_at = time.monotonic()
            self._done.set()

    def outcome(self) -> str:
        """How the call ended, once it has: "OK" or the code's name."""
        self.join(timeout=STREAM_DEADLINE)
        assert not self.is_alive(), "a client stream never ended"
        return "OK" if self.code is None else self.code.name


def png_upload(stub, product_id: str, filename: str, chunks: int | None) -> FedStream:
    """An upload of one PNG-headed image to `product_id`, a kilobyte every 0.1 s."""
    metadata = image_pb2.ImageMetadata(
        product_id=product_id, filename=filename, content_type="image/png"
    )
    head = [
        image_pb2.ImageRequest(metadata=metadata),
        image_pb2.ImageRequest(chunk=b"\x89PNG\r\n\x1a\n" + os.urandom(992)),
    ]
    return FedStream(
        stub.UploadProductImages,
        head,
        lambda: image_pb2.ImageRequest(chunk=os.urandom(1000)),
        0.1,
        chunks,
    )


def endless_import(stub, category: str) -> FedStream:
    """An import that sends a product every 0.05 s until the call ends."""

    def product() -> import_pb2.ImportProductsRequest:
        return import_pb2.ImportProductsRequest(
            product=product_pb2.Product(
                sku=unique_sku(),
                name="Imported while draining",
                category=category,
                price_cents=100,
                currency="USD",
                stock=1,
            )
        )

    return FedStream(stub.ImportProducts, [product()], product, 0.05, None)


def test_sigterm_drains_in_flight_calls_and_loses_no_acknowledged_write(start_server, tmp_path):
    """SIGTERM with calls of all four patterns in flight (unary creates, a chat, a watch,
    uploads and an import): streams told and ended with a status, no call hangs, exit 0 within
    the grace period, every acknowledged write there after a restart, and nothing half-written
    (no image from an upload cut off, no temporary file, only whole import batches).

    Collects every violation and reports them together, so that one run shows all of them.
    """
    data_dir = tmp_path / "drain-data"
    server = start_server(
        "--shutdown-grace", str(GRACE), "--import-batch-size", str(DRAIN_BATCH), data_dir=data_dir
    )
    process = server.process.process
    stub = own_stub(server)
    room = create_product(stub, name="Drain chat room")
    category = unique_category()
    imported_category = unique_category()
    problems: list[str] = []
    # Client streams: one upload that ends within the grace period, one that never ends,
    # and an import that never ends.
    quick_upload = png_upload(stub, room.id, "quick.png", chunks=20)
    endless_upload = png_upload(stub, room.id, "endless.png", chunks=None)
    held_import = endless_import(stub, imported_category)

    load = Load(server.address, category, token=server.token)
    with (
        ChatSession(stub) as member,
        Watch(stub, category=category) as watch,
        HealthWatch(server) as health,
    ):
        member.join_and_wait(room.id, "alice")
        watch.head()  # the watch is live
        assert status_name(health.next_status()) == "SERVING"
        load.start()
        try:
            poll(lambda: len(load.acknowledged()) >= 60, "60 acknowledged writes before SIGTERM")
            endless_upload.start()
            held_import.start()
            quick_upload.start()
            time.sleep(0.5)  # the quick upload is a few chunks in; it needs 1.5 s more

            sigterm_at = time.monotonic()
            process.send_signal(signal.SIGTERM)

            assert status_name(health.next_status()) == "NOT_SERVING"
            # The chat member is told, then its stream ends.
            notices = member.receive_until(lambda m: m.kind == ChatMessage.SYSTEM)
            assert notices[-1].text, notices[-1]
            assert_stream_ended(member, "the chat member's stream after the SYSTEM notice")
            # The live watch ends (UNAVAILABLE, or closed).
            watched = assert_stream_ended(watch, "the live WatchProducts")

            try:
                exit_code = process.wait(timeout=EXIT_BOUND)
            except subprocess.TimeoutExpired:
                problems.append(
                    f"the server did not exit within {EXIT_BOUND:.0f} s of SIGTERM "
                    f"(--shutdown-grace {GRACE})"
                )
                try:
                    exit_code = process.wait(timeout=RPC_TIMEOUT + 10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    exit_code = process.wait()
                    problems.append("the server never exited by itself; it was killed")
            exited_after = time.monotonic() - sigterm_at
            if exit_code != 0:
                problems.append(f"the server exited with {exit_code}")
            # Keep calling a while after the exit: those calls must fail fast, not hang.
            time.sleep(max(1.0, SHUTDOWN_STARTED + 1.0 - exited_after))
        finally:
            load.stop()

    # The client streams: each ended with a status; the quick one within the grace period.
    if quick_upload.outcome() != "OK":
        problems.append(
            f"the upload that fits the grace period ended {quick_upload.outcome()} "
            f"({quick_upload.details!r}, {quick_upload.ended_at - sigterm_at:.2f} s after SIGTERM)"
        )
    for stream, what in ((endless_upload, "endless upload"), (held_import, "endless import")):
        if stream.outcome() not in ("UNAVAILABLE", "CANCELLED"):
            problems.append(f"the {what} ended {stream.outcome()}, not UNAVAILABLE or CANCELLED")
    staging = data_dir / "images" / "staging"
    leftovers = sorted(os.listdir(staging)) if staging.exists() else []
    if leftovers:
        problems.append(f"temporary upload files left after the exit: {leftovers}")

    records = sorted(load.records, key=lambda record: record.started)
    acknowledged = {record.sku: record.product_id for record in records if record.code is None}
    assert len(acknowledged) >= 60

    def at(record: CallRecord) -> str:
        return (
            f"started {record.started - sigterm_at:+.3f} s, ended {record.ended - sigterm_at:+.3f}"
            f" s after SIGTERM: {record.code.name if record.code else 'OK'} {record.details!r}"
        )

    if exited_after >= EXIT_BOUND and not problems:
        problems.append(f"the server exited {exited_after:.1f} s after SIGTERM (grace {GRACE} s)")
    wrong = [record for record in records if record.code not in (None, Code.UNAVAILABLE)]
    if wrong:
        problems.append(
            f"{len(wrong)} CreateProduct calls failed with another code than UNAVAILABLE: "
            + "; ".join(map(at, wrong[:6]))
        )
    late = [record for record in records if record.started > sigterm_at + SHUTDOWN_STARTED]
    assert late, "no call was started after the shutdown began"
    accepted_late = [record for record in late if record.code is None]
    if accepted_late:
        problems.append(
            f"{len(accepted_late)} CreateProduct calls started over {SHUTDOWN_STARTED} s after "
            f"SIGTERM succeeded: " + "; ".join(map(at, accepted_late[:3]))
        )
    slow_late = [record for record in late if record.ended - record.started > 2.0]
    if slow_late:
        problems.append(
            f"{len(slow_late)} calls started after the shutdown took over 2 s: "
            + "; ".join(map(at, slow_late[:3]))
        )

    # Restarted on the same data: every acknowledged write is there, as acknowledged.
    restarted = start_server(data_dir=data_dir)
    restarted_stub = own_stub(restarted)
    stored = {
        product.sku: product.id for product in list_products(restarted_stub, category=category)
    }
    missing = sorted(set(acknowledged) - set(stored))
    if missing:
        problems.append(
            f"{len(missing)} of {len(acknowledged)} acknowledged writes lost, e.g. {missing[:3]}"
        )
    changed = {
        sku: (product_id, stored[sku])
        for sku, product_id in acknowledged.items()
        if sku in stored and stored[sku] != product_id
    }
    if changed:
        problems.append(f"acknowledged products stored under another id: {changed}")
    unseen = {change.product.sku for change in watched} - set(stored)
    if unseen:
        problems.append(f"the watch showed writes that are not stored: {sorted(unseen)[:3]}")
    if wrong:
        committed = sum(record.sku in stored for record in wrong)
        problems.append(
            f"of the {len(wrong)} calls that failed with another code, {committed} were committed"
        )
    for sku in sorted(set(acknowledged) & set(stored))[:: max(1, len(acknowledged) // 20)]:
        assert get_product(restarted_stub, acknowledged[sku]).sku == sku

    # Uploads: the acknowledged image is attached; the one cut off left nothing.
    expected_images = (
        [quick_upload.response.images[0].image_id] if quick_upload.response is not None else []
    )
    attached = list(get_product(restarted_stub, room.id).image_ids)
    if attached != expected_images:
        problems.append(f"images attached after the restart {attached}, expected {expected_images}")
    # The import: only whole batches were applied.
    imported = len(list_products(restarted_stub, category=imported_category))
    if imported % DRAIN_BATCH != 0:
        problems.append(f"{imported} imported products: a batch of {DRAIN_BATCH} was split")

    assert not problems, "graceful drain:\n- " + "\n- ".join(problems)
