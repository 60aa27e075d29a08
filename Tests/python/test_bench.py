"""`storefront bench` and storefront-baseline, run for real but briefly.

These check that every scenario runs against both servers and reports what it measured, and
that every call carries the bench's metadata. They never look at how fast anything was.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from conftest import connected_server, server_binary
from storefront.v1 import product_pb2, product_service_pb2, product_service_pb2_grpc

#: Flags that keep each run short: no timing is asserted, only that work was counted.
SHORT = ("--duration", "1", "--warmup", "0.2", "--connections", "2")

SCENARIOS = {
    "get": ("get", "--concurrency", "4", "--ids", "50"),
    "list": ("list", "--concurrency", "2", "--page-size", "40"),
    "upload": ("upload", "--concurrency", "2", "--size", "65536", "--chunk", "16384"),
    "download": ("download", "--concurrency", "2", "--size", "100000", "--chunk", "8192"),
    "import": ("import", "--concurrency", "2", "--batch", "20"),
    "chat": ("chat", "--members", "4", "--senders", "2", "--rate", "20"),
    "watch": ("watch", "--watchers", "4", "--senders", "2", "--rate", "20"),
}

UNITS = {
    "get": "calls",
    "list": "products",
    "upload": "bytes",
    "download": "bytes",
    "import": "products",
    "chat": "deliveries",
    "watch": "deliveries",
}


#: The token `bench` sends to each Storefront address (writes and chat need one).
TOKENS: dict[str, str] = {}


def bench(address: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Runs `storefront bench ARGS --json` against `address` (with the token of a staff user
    of that server, when it has one); returns its result."""
    token = {"STOREFRONT_TOKEN": TOKENS[address]} if address in TOKENS else {}
    result = subprocess.run(
        [server_binary(), "bench", *args, "--server", address, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **token, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Iterator[str]:
    """storefront-baseline, built next to the storefront binary, on a free port."""
    binary = Path(server_binary()).with_name("storefront-baseline")
    assert binary.exists(), f"build storefront-baseline first: {binary} is missing"
    process = subprocess.Popen(
        [str(binary), "--catalogue", "300"], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
        assert match, f"the baseline printed {line!r}"
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def storefront(tmp_path_factory) -> Iterator[str]:
    """A Storefront with a small demo catalogue and chat limits that let the bench send."""
    data_dir = tmp_path_factory.mktemp("bench-data")
    with connected_server(
        data_dir, "--demo-catalog", "300", "--chat-rate", "1000", "--chat-burst", "1000"
    ) as server:
        TOKENS[server.address] = server.token_for("bench-staff", "staff")
        yield server.address


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("target", ["storefront", "baseline"])
def test_each_scenario_reports_work_done_against_both_servers(
    request, scenario, target
):
    address = request.getfixturevalue(target)
    result = bench(address, *SCENARIOS[scenario], *SHORT, "--label", target)
    assert result["scenario"] == scenario
    assert result["label"] == target
    assert result["unit"] == UNITS[scenario]
    assert result["errors"] == 0, result.get("firstError")
    assert result["units"] > 0
    assert result["unitsPerSecond"] > 0
    latency = result["latencyMilliseconds"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p999"]
    assert latency["p999"] <= latency["max"]
    if scenario != "chat":
        assert result["operations"] > 0


def test_count_stops_after_that_many_operations(storefront):
    result = bench(storefront, "upload", "--count", "3", "--concurrency", "2", "--warmup", "0",
                   "--size", "4096", "--connections", "1")
    assert result["operations"] == 3
    assert result["units"] == 3 * 4096


def test_download_of_a_given_image_reads_that_image_and_uploads_nothing(storefront):
    uploaded = bench(storefront, "upload", "--count", "1", "--concurrency", "1", "--warmup", "0",
                     "--size", "12345", "--connections", "1")
    assert uploaded["operations"] == 1
    with grpc.insecure_channel(storefront) as channel:
        stub = product_service_pb2_grpc.ProductServiceStub(channel)
        first = next(stub.ListProducts(product_service_pb2.ProductRequest(page_size=1)))
        images_before = list(first.product.image_ids)
    result = bench(storefront, "download", "--image", images_before[-1], "--count", "2",
                   "--concurrency", "1", "--warmup", "0", "--connections", "1")
    assert result["operations"] == 2
    assert result["units"] == 2 * 12345  # that image's bytes, twice
    with grpc.insecure_channel(storefront) as channel:
        stub = product_service_pb2_grpc.ProductServiceStub(channel)
        first = next(stub.ListProducts(product_service_pb2.ProductRequest(page_size=1)))
        assert list(first.product.image_ids) == images_before  # nothing uploaded


@pytest.mark.parametrize("rooms", ["1", "4"])
def test_idle_chat_members_all_join_and_count_no_deliveries(storefront, rooms):
    result = bench(
        storefront, "chat", "--members", "20", "--rooms", rooms, "--senders", "0",
        "--duration", "1", "--warmup", "0", "--connections", "2",
    )
    assert result["operations"] == 20
    assert result["units"] == 0
    assert result["errors"] == 0


@pytest.mark.parametrize("target", ["storefront", "baseline"])
def test_watch_counts_acknowledged_writes_and_delivers_each_to_the_watchers(request, target):
    """Every write of the run reaches the watchers, none twice: at most one delivery per
    watcher for each write counted, or in flight at either edge of the window (one per
    writer), and at least one delivery for each write counted beyond those."""
    address = request.getfixturevalue(target)
    watchers, writers = 5, 3
    result = bench(
        address, "watch", "--watchers", str(watchers), "--senders", str(writers),
        "--rate", "10", *SHORT,
    )
    assert result["errors"] == 0, result.get("firstError")
    writes = result["operations"]
    assert writes > 0
    assert result["units"] <= watchers * (writes + 2 * writers)
    # Every watcher got most of them (a lagging edge may hold back up to half the run).
    assert result["units"] >= watchers * (writes // 2)


def test_watch_writes_land_in_the_catalogue(storefront):
    """The watch scenario's writes are real UpdateProducts: the written products (the second
    and third; the first is the upload scenario's) carry a description stamped by this run."""

    def first_three() -> list:
        channel = grpc.insecure_channel(storefront)
        try:
            stub = product_service_pb2_grpc.ProductServiceStub(channel)
            request = product_service_pb2.ProductRequest(page_size=3)
            return [r.product for r in stub.ListProducts(request, timeout=10)]
        finally:
            channel.close()

    before = first_three()
    bench(storefront, "watch", "--watchers", "1", "--senders", "2", "--rate", "10", *SHORT)
    after = first_three()
    assert len(after) == 3
    assert after[0].description == before[0].description
    for old, new in zip(before[1:], after[1:]):
        assert re.fullmatch(r"bench-\d+ \d+", new.description), new
        assert new.description != old.description
        assert new.etag != old.etag


def test_watch_with_a_failing_watcher_says_why(storefront):
    """Watchers that cannot start (here: a bad token) fail the run with their reason instead
    of holding the writers back until the window ends."""
    result = subprocess.run(
        [server_binary(), "bench", "watch", "--server", storefront, "--token", "not-a-token",
         "--watchers", "2", "--senders", "1", *SHORT],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "UNAUTHENTICATED" in result.stderr


def test_count_is_refused_for_paced_scenarios(storefront):
    for scenario in ("watch", "chat"):
        result = subprocess.run(
            [server_binary(), "bench", scenario, "--server", storefront, "--count", "3"],
            capture_output=True, text=True, timeout=60,
        )
        assert result.returncode != 0
        assert "--count is for closed-loop scenarios" in result.stderr


def test_refused_uploads_count_no_bytes(storefront):
    """Without a token every upload is refused after its bytes were sent: none of them count,
    so the run reports nothing measured and why."""
    env = {key: value for key, value in os.environ.items() if key != "STOREFRONT_TOKEN"}
    result = subprocess.run(
        [server_binary(), "bench", "upload", "--server", storefront, "--json", "--size", "65536",
         *SHORT],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode != 0
    assert "nothing was measured" in result.stderr
    assert "UNAUTHENTICATED" in result.stderr
    assert json.loads(result.stdout)["units"] == 0


def test_an_empty_catalogue_fails_with_a_reason(start_server):
    empty = start_server()
    result = subprocess.run(
        [server_binary(), "bench", "get", "--server", empty.address, *SHORT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "the catalogue is empty" in result.stderr


class RecordingService(product_service_pb2_grpc.ProductServiceServicer):
    """Answers GetProduct and ListProducts, and keeps every call's metadata."""

    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    def _record(self, context) -> None:
        self.metadata.append({key: value for key, value in context.invocation_metadata()})

    def GetProduct(self, request, context):
        self._record(context)
        return product_service_pb2.ProductResponse(product=product_pb2.Product(id=request.id))

    def ListProducts(self, request, context):
        self._record(context)
        for index in range(3):
            yield product_service_pb2.ProductResponse(product=product_pb2.Product(id=f"p_{index}"))


@pytest.fixture
def recording_server() -> Iterator[tuple[str, RecordingService]]:
    service = RecordingService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    product_service_pb2_grpc.add_ProductServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", service
    finally:
        server.stop(grace=None)


@pytest.mark.parametrize(
    "args, env",
    [
        (("--token", "secret-1"), {}),
        ((), {"STOREFRONT_TOKEN": "secret-1"}),
    ],
    ids=["option", "environment"],
)
def test_every_call_carries_the_bearer_token(recording_server, args, env):
    address, service = recording_server
    result = bench(address, "get", *args, *SHORT, "--concurrency", "2", env=env)
    assert result["operations"] > 0
    assert len(service.metadata) > result["operations"]
    assert all(entry.get("authorization") == "Bearer secret-1" for entry in service.metadata)


def test_without_a_token_no_authorization_is_sent(recording_server):
    address, service = recording_server
    env = {key: value for key, value in os.environ.items() if key != "STOREFRONT_TOKEN"}
    result = subprocess.run(
        [server_binary(), "bench", "get", "--server", address, "--json", *SHORT],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert service.metadata
    assert all("authorization" not in entry for entry in service.metadata)


class SlowListingService(product_service_pb2_grpc.ProductServiceServicer):
    """Streams 300 products at once, then holds the listing open for 3 s: on a slow machine a
    whole-catalogue listing that outlasts the bench's window."""

    def ListProducts(self, request, context):
        for index in range(300):
            yield product_service_pb2.ProductResponse(product=product_pb2.Product(id=f"p_{index}"))
        deadline = time.monotonic() + 3
        while context.is_active() and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def slow_listing_server() -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    product_service_pb2_grpc.add_ProductServiceServicer_to_server(SlowListingService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


def test_a_listing_that_never_completes_reports_no_latency_instead_of_zero(slow_listing_server):
    args = ("list", "--duration", "1", "--warmup", "0", "--connections", "1", "--concurrency", "1")
    result = bench(slow_listing_server, *args)
    assert result["units"] >= 256
    assert result["operations"] == 0
    assert "latencyMilliseconds" not in result, result
    text = subprocess.run(
        [server_binary(), "bench", *args, "--server", slow_listing_server],
        capture_output=True, text=True, timeout=60,
    )
    assert text.returncode == 0, text.stderr
    assert "no call completed" in text.stdout and "p99" not in text.stdout, text.stdout
