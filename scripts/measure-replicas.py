#!/usr/bin/env python3
"""How soon replica B serves what replica A committed: two replicas on one PostgreSQL.

    .venv/bin/python scripts/measure-replicas.py [--binary .build/release/storefront] [--writes 300]

Starts a throwaway PostgreSQL (Tests/python/postgres_cluster.py) and two replicas on one
database, then measures, from the moment A acknowledges an UpdateProduct:
  cache  until B's GetProduct answers the new version (B had the old one cached; polled
         every 0.5 ms), one write at a time;
  watch  until a WatchProducts stream on B delivers the change, writes paced at 50/s;
and then chat across the replicas: `storefront bench chat` with 100 members in one room, the
10 senders (20 messages/s each) on A and the 90 others on B, beside the same run with all on B
(deliveries/s and delivery latency, from the bench's own JSON). Prints p50, p90, p99 and max
of each in milliseconds. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "Tests" / "python"), str(ROOT / "scripts" / "lib")]
import protostubs  # noqa: E402

protostubs.generate("storefront-replicas-stubs-")
import grpc  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402
from postgres_cluster import Cluster  # noqa: E402
from storefront.v1 import (  # noqa: E402
    product_pb2,
    product_service_pb2,
    product_service_pb2_grpc,
    watch_pb2,
)


def start_replica(binary: str, database: str) -> tuple[subprocess.Popen, str]:
    data = tempfile.mkdtemp(prefix="storefront-replica-")
    process = subprocess.Popen(
        [binary, "serve", "--port", "0", "--database", database, "--data-dir", data,
         "--log-level", "warning", "--chat-rate", "1000", "--chat-burst", "1000"],
        stdout=subprocess.PIPE, text=True,
    )
    for line in process.stdout:
        match = re.search(r"listening on (\S+:\d+)", line)
        if match:
            return process, match.group(1)
    raise SystemExit("a replica did not start")


def percentiles(name: str, delays: list[float]) -> None:
    cuts = statistics.quantiles(delays, n=100)
    print(f"{name}: {len(delays)} writes, p50 {cuts[49]:.2f} ms, p90 {cuts[89]:.2f} ms, "
          f"p99 {cuts[98]:.2f} ms, max {max(delays):.2f} ms")


def chat(binary: str, token: str, members_on: str, senders_on: str | None) -> dict:
    """One `storefront bench chat` run: 100 members of one room, 10 of them sending."""
    command = [binary, "bench", "chat", "--server", members_on, "--connections", "4",
               "--members", "100", "--senders", "10", "--rate", "20", "--duration", "6",
               "--warmup", "1", "--json"]
    if senders_on:
        command += ["--senders-server", senders_on]
    result = subprocess.run(command, env={**os.environ, "STOREFRONT_TOKEN": token},
                            text=True, check=True, capture_output=True)
    return json.loads(result.stdout)


def update(stub, metadata, product_id: str, stock: int) -> float:
    """UpdateProduct of the stock on A; the moment A acknowledged it."""
    stub.UpdateProduct(
        product_service_pb2.UpdateProductRequest(
            product=product_pb2.Product(id=product_id, stock=stock),
            update_mask=field_mask_pb2.FieldMask(paths=["stock"]),
        ),
        metadata=metadata,
        timeout=10,
    )
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "storefront"))
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()

    cluster = Cluster()
    replicas: list[subprocess.Popen] = []
    try:
        cluster.start()
        database = cluster.create_database("replicas")
        subprocess.run([args.binary, "user", "add", "measure", "--role", "staff",
                        "--password-stdin", "--database", database],
                       input="measure-password\n", text=True, check=True, capture_output=True)
        a_process, a = start_replica(args.binary, database)
        b_process, b = start_replica(args.binary, database)
        replicas += [a_process, b_process]
        token = subprocess.run(
            [args.binary, "login", "measure", "--password-stdin", "--print-token", "--server", a],
            input="measure-password\n", text=True, check=True, capture_output=True,
        ).stdout.strip()
        metadata = (("authorization", f"Bearer {token}"),)
        stub_a = product_service_pb2_grpc.ProductServiceStub(grpc.insecure_channel(a))
        stub_b = product_service_pb2_grpc.ProductServiceStub(grpc.insecure_channel(b))
        product = stub_a.CreateProduct(
            product_service_pb2.CreateProductRequest(product=product_pb2.Product(
                sku="REPLICA-1", name="Measured", category="measure", price_cents=100,
                currency="USD", stock=0)),
            metadata=metadata,
        ).product
        request = product_service_pb2.ProductRequest(id=product.id)
        while stub_b.GetProduct(request).product.etag != product.etag:
            time.sleep(0.01)

        cache: list[float] = []
        for stock in range(1, args.writes + 1):
            acknowledged = update(stub_a, metadata, product.id, stock)
            while stub_b.GetProduct(request).product.stock != stock:
                time.sleep(0.0005)
            cache.append((time.monotonic() - acknowledged) * 1000)
        percentiles("cache (GetProduct on B after A's ack)", cache)

        deliveries: queue.Queue = queue.Queue()
        watch = stub_b.WatchProducts(watch_pb2.WatchProductsRequest(), timeout=600)

        def read() -> None:
            try:
                for change in watch:
                    if change.product.id == product.id:
                        deliveries.put((change.product.stock, time.monotonic()))
            except grpc.RpcError:
                pass  # cancelled at the end

        threading.Thread(target=read, daemon=True).start()
        time.sleep(1)
        acknowledged_at: dict[int, float] = {}
        base = args.writes + 1
        for offset in range(args.writes):
            acknowledged_at[base + offset] = update(stub_a, metadata, product.id, base + offset)
            time.sleep(0.02)
        watched: list[float] = []
        while len(watched) < args.writes:
            stock, at = deliveries.get(timeout=30)
            watched.append((at - acknowledged_at[stock]) * 1000)
        watch.cancel()
        percentiles("watch (WatchProducts on B after A's ack)", watched)

        one = chat(args.binary, token, b, None)
        across = chat(args.binary, token, b, a)
        for name, run in (("chat, all on B", one), ("chat, senders on A, 90 members on B", across)):
            print(f"{name}: {run['unitsPerSecond']:,.0f} deliveries/s, "
                  f"p50 {run['latencyMilliseconds']['p50']:.2f} ms, "
                  f"p99 {run['latencyMilliseconds']['p99']:.2f} ms, errors {run['errors']}")
        print(f"across replicas vs one: {across['unitsPerSecond'] / one['unitsPerSecond']:.2f}x")
    finally:
        for process in replicas:
            process.terminate()
            process.wait(timeout=10)
        cluster.remove()


if __name__ == "__main__":
    main()
