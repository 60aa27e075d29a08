"""PostgreSQL restarting under a running replica: while it is down, calls that need it fail
within their deadline (UNAVAILABLE or DEADLINE_EXCEEDED, never INTERNAL, never a hang) and
health says NOT_SERVING; once it is back, the replica recovers by itself: health SERVING
again, nothing acknowledged lost, writes and reads as before.

The database is a PostgreSQL cluster of this test's own (`postgres_cluster.Cluster`), so
that stopping it disturbs no other suite. Runs when STOREFRONT_TEST_POSTGRES_URL is set (scripts/test.sh), as
the other PostgreSQL suites do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import grpc
import pytest
from conftest import connected_server, create_product, unique_sku
from postgres_cluster import Cluster
from grpc_health.v1 import health_pb2, health_pb2_grpc
from storefront.v1 import product_pb2, product_service_pb2, product_service_pb2_grpc

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


def test_a_postgresql_restart_fails_calls_within_their_deadline_and_heals_by_itself(
    cluster, tmp_path
):
    env = {"STOREFRONT_DATABASE": cluster.create_database("restart")}
    with connected_server(tmp_path / "replica", "--health-probe-interval", "0.2",
                          env=env) as server:
        stub = product_service_pb2_grpc.ProductServiceStub(server.channel)
        health = health_pb2_grpc.HealthStub(server.channel)
        before = create_product(stub, name="Acknowledged before the restart")

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
            assert code in (Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED), f"{name}: {code}"
            assert took < DOWN_DEADLINE + SLACK, f"{name} took {took:.1f} s"
        down = health.Check(health_pb2.HealthCheckRequest(), timeout=DOWN_DEADLINE + SLACK)
        assert down.status == health_pb2.HealthCheckResponse.NOT_SERVING

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
