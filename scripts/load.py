#!/usr/bin/env python3
"""Load and slow clients against a real server, with its peak memory.

    .venv/bin/python scripts/load.py [--binary .build/release/storefront]

Starts the server on a fresh data folder (with a demo catalogue for the listing case) and
runs, one after another:
  chat     1,000 members in one room, 10 of them sending: every member must receive every
           message, in one order (the same sequence list for all).
  stalled  100 ListProducts streams over the catalogue whose clients never read, while
           another client's GetProduct calls must still answer within their deadline.
  uploads  200 concurrent uploads of a 256 KiB image: every one must be acknowledged.
For each it prints the server's RSS before and its peak (VmHWM) after, and fails (exit 1) on
a broken promise. A measurement script, not part of the test suite: it runs for minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


sys.path.insert(0, str(ROOT / "scripts" / "lib"))
import protostubs  # noqa: E402

protostubs.generate("storefront-load-stubs-")
import grpc  # noqa: E402
from storefront.v1 import chat_pb2, image_pb2, product_pb2, product_service_pb2, product_service_pb2_grpc  # noqa: E402


def rss_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class Server:
    def __init__(self, binary: str, *args: str) -> None:
        self.data = tempfile.mkdtemp(prefix="storefront-load-")
        # A staff user whose token every call sends (chat members all speak as them).
        subprocess.run([binary, "user", "add", "load", "--role", "staff", "--password-stdin",
                        "--data-dir", self.data], input="load-password\n", text=True, check=True,
                       capture_output=True)
        self.process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--data-dir", self.data, *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.process.stdout.readline()
        self.address = "127.0.0.1:" + re.search(r":(\d+) ", line).group(1)
        token = subprocess.run([binary, "login", "load", "--password-stdin", "--print-token",
                                "--server", self.address], input="load-password\n", text=True,
                               check=True, capture_output=True).stdout.strip()
        self.metadata = (("authorization", f"Bearer {token}"),)

    def rss(self) -> tuple[int, int]:
        return rss_kib(self.process.pid, "VmRSS") // 1024, rss_kib(self.process.pid, "VmHWM") // 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def product(sku: str) -> product_pb2.Product:
    return product_pb2.Product(sku=sku, name="Load", price_cents=100, currency="USD")


async def chat(server: Server, members: int, senders: int, per_sender: int) -> list[str]:
    channels = [grpc.aio.insecure_channel(server.address) for _ in range(10)]
    stubs_ = [product_service_pb2_grpc.ProductServiceStub(c) for c in channels]
    room = (await stubs_[0].CreateProduct(
        product_service_pb2.CreateProductRequest(product=product(f"ROOM-{os.getpid()}")),
        metadata=server.metadata)).product.id
    expected = senders * per_sender
    joined = asyncio.Event()
    joined_count = 0
    start_sending = asyncio.Event()
    results: list[list[int]] = []

    async def member(index: int) -> None:
        nonlocal joined_count
        queue: asyncio.Queue = asyncio.Queue()
        await queue.put(chat_pb2.ChatMessage(kind=chat_pb2.ChatMessage.JOIN, room=room, sender=f"m{index}"))

        async def outgoing():
            while True:
                message = await queue.get()
                if message is None:
                    return
                yield message

        call = stubs_[index % len(stubs_)].Chat(outgoing(), metadata=server.metadata)
        seen: list[int] = []
        counted_join = False
        async for message in call:
            # Every member speaks as the one user: the first JOIN it receives (its own, or one
            # in the history it gets once it has joined) shows that it is in.
            if message.kind == chat_pb2.ChatMessage.JOIN and not counted_join:
                counted_join = True
                joined_count += 1
                if joined_count == members:
                    joined.set()
                if index < senders:
                    await start_sending.wait()
                    for n in range(per_sender):
                        await queue.put(chat_pb2.ChatMessage(kind=chat_pb2.ChatMessage.MESSAGE, text=f"{index}:{n}"))
                        await asyncio.sleep(0.25)  # under the default rate limit of 5/s
            elif message.kind == chat_pb2.ChatMessage.MESSAGE:
                seen.append(message.sequence)
                if len(seen) == expected:
                    break
        results.append(seen)
        await queue.put(None)
        call.cancel()

    tasks = [asyncio.create_task(member(i)) for i in range(members)]
    await asyncio.wait_for(joined.wait(), timeout=120)
    start_sending.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
    for channel in channels:
        await channel.close()
    problems = []
    if len(results) != members:
        problems.append(f"{len(results)} of {members} members finished")
    orders = {tuple(r) for r in results}
    if len(orders) != 1:
        problems.append(f"members saw {len(orders)} different orders")
    if any(len(r) != expected for r in results):
        problems.append("some member missed messages")
    return problems


async def stalled(server: Server, streams: int) -> list[str]:
    channels = [grpc.aio.insecure_channel(server.address) for _ in range(streams)]
    calls = []
    for channel in channels:
        stub = product_service_pb2_grpc.ProductServiceStub(channel)
        call = stub.ListProducts(product_service_pb2.ProductRequest())
        await call.read()  # one product, then never read again
        calls.append(call)
    problems = []
    async with grpc.aio.insecure_channel(server.address) as other:
        stub = product_service_pb2_grpc.ProductServiceStub(other)
        some = (await stub.CreateProduct(product_service_pb2.CreateProductRequest(
            product=product("STALL-PROBE")), metadata=server.metadata)).product
        slowest = 0.0
        for _ in range(50):
            started = time.monotonic()
            try:
                await stub.GetProduct(product_service_pb2.ProductRequest(id=some.id), timeout=1.0)
            except grpc.aio.AioRpcError as error:
                problems.append(f"GetProduct under stalled listings: {error.code()}")
                break
            slowest = max(slowest, time.monotonic() - started)
        print(f"  slowest GetProduct while {streams} listings stall: {slowest * 1000:.1f} ms")
    for call in calls:
        call.cancel()
    for channel in channels:
        await channel.close()
    return problems


async def uploads(server: Server, count: int, size: int) -> list[str]:
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = product_service_pb2_grpc.ProductServiceStub(channel)
        target = (await stub.CreateProduct(product_service_pb2.CreateProductRequest(
            product=product("UPLOADS")), metadata=server.metadata)).product
        data = b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)

        async def one(index: int):
            async def requests():
                yield image_pb2.ImageRequest(metadata=image_pb2.ImageMetadata(
                    product_id=target.id, filename=f"{index}.png", content_type="image/png"))
                for offset in range(0, len(data), 65536):
                    yield image_pb2.ImageRequest(chunk=data[offset:offset + 65536])
            return await stub.UploadProductImages(requests(), timeout=120, metadata=server.metadata)

        answers = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    failed = [a for a in answers if isinstance(a, Exception)]
    digest = hashlib.sha256(data).hexdigest()
    wrong = [a for a in answers if not isinstance(a, Exception) and a.images[0].sha256 != digest]
    return ([f"{len(failed)} uploads failed, e.g. {failed[0]}"] if failed else []) + (
        [f"{len(wrong)} uploads stored other bytes"] if wrong else [])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / ".build/release/storefront"))
    parser.add_argument("--catalogue", type=int, default=100_000)
    args = parser.parse_args()
    problems: list[str] = []
    cases = [
        # Every JOIN is relayed to every member: a queue of 2,048 lets 1,000 members join at once.
        ("chat: 1,000 members, 10 senders x 10 messages", ["--chat-queue", "2048"],
         lambda s: chat(s, 1000, 10, 10)),
        (f"stalled: 100 unread listings of {args.catalogue:,} products",
         ["--demo-catalog", str(args.catalogue)], lambda s: stalled(s, 100)),
        ("uploads: 200 concurrent 256 KiB images", [], lambda s: uploads(s, 200, 256 * 1024)),
    ]
    for name, flags, run in cases:
        server = Server(args.binary, *flags)
        try:
            before, _ = server.rss()
            started = time.monotonic()
            found = asyncio.run(run(server))
            now, peak = server.rss()
            print(f"{name}: {time.monotonic() - started:.1f} s; server RSS {before} MiB before, "
                  f"peak {peak} MiB, {now} MiB after; {'OK' if not found else 'FAILED: ' + '; '.join(found)}",
                  flush=True)
            problems += found
        finally:
            server.stop()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
