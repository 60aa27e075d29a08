"""PostgreSQL restarting under a running replica: while it is down, calls that need it answer
UNAVAILABLE at once (never INTERNAL, never a wait to their deadline) and health says
NOT_SERVING; once it is back, the replica recovers by itself: health SERVING again, nothing
acknowledged lost, writes and reads as before, and the live streams opened before the restart
go on (a watch sees the next write, or ends UNAVAILABLE and resumes from its last sequence; a
chat member hears the room again; a member that spoke while the database was down has its
stream ended with UNAVAILABLE).

The database is a PostgreSQL cluster of this test's own (`postgres_cluster.Cluster`), so
that stopping it disturbs no other suite. Runs when STOREFRONT_TEST_POSTGRES_URL is set (scripts/test.sh), as
the other PostgreSQL suites do.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator

import grpc
import pytest
from conftest import STREAM_END, connected_server, create_product, unique_sku
from postgres_cluster import Cluster
from grpc_health.v1 import health_pb2, health_pb2_grpc
from storefront.v1 import product_pb2, product_service_pb2, product_service_pb2_grpc
from test_storefront import ChatMessage, ChatSession, is_join_of, update_product
from test_streams import Watch

pytestmark = pytest.mark.skipif(
    not os.environ.get("STOREFRONT_TEST_POSTGRES_URL"),
    reason="STOREFRONT_TEST_POSTGRES_URL is unset (scripts/test.sh sets it)",
)

Code = grpc.StatusCode
#: The deadline of each call made while the database is down.
DOWN_DEADLINE = 3.0
#: How much later than its deadline such a call may end: scheduling on a loaded machine.
SLACK = 3.0
#: Seconds the replica may take to serve again once the database is back: a bound.
RECOVERY_WITHIN = 60.0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def outcome(call) -> tuple[Code, float]:
    """The code `call` ends with (OK when it succeeds) and the seconds it took."""
    start = time.monotonic()
    try:
        call()
        code = Code.OK
    except grpc.RpcError as error:
        code = error.code()
    return code, time.monotonic() - start


def next_item(reader, what: str):
    """The next thing a stream reader queued: a message, STREAM_END or the call's error."""
    try:
        return reader._incoming.get(timeout=RECOVERY_WITHIN)
    except queue.Empty:
        pytest.fail(f"{what}: nothing within {RECOVERY_WITHIN:.0f} s")


def test_a_postgresql_restart_fails_calls_at_once_and_heals_by_itself(cluster, tmp_path):
    env = {"STOREFRONT_DATABASE": cluster.create_database("restart")}
    with (
        connected_server(
            tmp_path / "replica", "--health-probe-interval", "0.2", env=env
        ) as server,
        ChatSession(product_service_pb2_grpc.ProductServiceStub(server.channel)) as ada,
        ChatSession(product_service_pb2_grpc.ProductServiceStub(server.channel)) as bob,
    ):
        stub = product_service_pb2_grpc.ProductServiceStub(server.channel)
        health = health_pb2_grpc.HealthStub(server.channel)
        before = create_product(stub, name="Acknowledged before the restart")
        watch = Watch(stub, ids=[before.id])
        watched_from = watch.head()
        ada.join_and_wait(before.id, "ada")
        bob.join_and_wait(before.id, "bob")
        ada.receive_until(is_join_of("bob"))

        cluster.stop()
        calls = {
            "GetProduct": lambda: stub.GetProduct(
                product_service_pb2.ProductRequest(id="p_00000000000000000000000000"),
                timeout=DOWN_DEADLINE,
            ),
            "ListProducts": lambda: list(
                stub.ListProducts(product_service_pb2.ProductRequest(), timeout=DOWN_DEADLINE)
            ),
            "CreateProduct": lambda: stub.CreateProduct(
                product_service_pb2.CreateProductRequest(
                    product=product_pb2.Product(
                        sku=unique_sku(), name="Never", category="pytest", currency="USD"
                    )
                ),
                timeout=DOWN_DEADLINE,
            ),
        }
        for name, call in calls.items():
            code, took = outcome(call)
            print(f"while PostgreSQL is down, {name} answers {code.name} after {took:.2f} s")
            assert code == Code.UNAVAILABLE, f"{name}: {code} after {took:.2f} s"
            assert took < DOWN_DEADLINE, f"{name} waited {took:.1f} s for its deadline"
        down = health.Check(health_pb2.HealthCheckRequest(), timeout=DOWN_DEADLINE + SLACK)
        assert down.status == health_pb2.HealthCheckResponse.NOT_SERVING
        # Bob speaks while the database is down: nothing is stored, his stream ends.
        bob.say(before.id, "said while the database is down")
        while (item := next_item(bob, "Bob's stream")) is not STREAM_END:
            if isinstance(item, grpc.RpcError):
                assert item.code() == Code.UNAVAILABLE, item
                break
        else:
            pytest.fail("Bob's stream ended well though his message could not be stored")

        cluster.start()
        start = time.monotonic()
        while True:
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=DOWN_DEADLINE)
                if status.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            assert time.monotonic() - start < RECOVERY_WITHIN, "never SERVING again"
            time.sleep(0.2)
        print(f"SERVING again {time.monotonic() - start:.2f} s after PostgreSQL started")
        after = create_product(stub, name="Written after the restart")
        got = stub.GetProduct(product_service_pb2.ProductRequest(id=before.id)).product
        assert got == before  # nothing acknowledged was lost
        listed = [r.product.id for r in stub.ListProducts(product_service_pb2.ProductRequest())]
        assert before.id in listed and after.id in listed

        # The watch opened before the restart sees the next write, or ended UNAVAILABLE and
        # a watch from where it was resumes with it.
        updated = update_product(stub, product_pb2.Product(id=before.id, stock=7), ["stock"])
        item = next_item(watch, "the watch")
        watch.cancel()
        if isinstance(item, grpc.RpcError):
            assert item.code() == Code.UNAVAILABLE, item
            with Watch(stub, ids=[before.id], since_sequence=watched_from) as resumed:
                [change] = resumed.take(1)
        else:
            assert item is not STREAM_END, "the watch ended well across the restart"
            change = item
        assert change.product == updated
        print(f"across the restart the watch {'resumed' if item is change else 'ended'}")

        # Ada's chat stream goes on: a member joining after the restart reaches her. Bob's
        # message was never stored, so nobody hears it.
        with ChatSession(stub) as cy:
            cy.join_and_wait(before.id, "cy")
            cy.say(before.id, "after the restart")
            heard = ada.receive_until(
                lambda m: m.kind == ChatMessage.MESSAGE and m.sender == "cy"
            )
        assert [m.text for m in heard if m.kind == ChatMessage.MESSAGE] == ["after the restart"]
        assert heard[-1].sequence == heard[0].sequence + len(heard) - 1
