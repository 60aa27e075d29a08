"""Two replicas on one PostgreSQL database, driven directly and through nginx as a gRPC load
balancer (`grpc_pass`, HTTP/2): what one replica writes, the other serves; a token from one
works on the other; a watcher on either sees every write of both once, in commit order; chat
members on either see every message said on both once, in one order; and one replica killed
with SIGKILL leaves the other, and the balancer, serving.

Runs when STOREFRONT_TEST_POSTGRES_URL names a PostgreSQL server (scripts/test.sh starts one);
nginx must then be installed (Debian's package; .ci/run installs it), else the suite fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from conftest import (
    RPC_TIMEOUT,
    Server,
    authorized_channel,
    connected_server,
    create_database,
    create_product,
    unique_category,
)
from storefront.v1 import auth_pb2, auth_pb2_grpc, product_pb2, product_service_pb2_grpc
from test_storefront import ChatMessage, ChatSession, get_product, is_join_of, summary, update_product
from test_streams import Watch

pytestmark = pytest.mark.skipif(
    not os.environ.get("STOREFRONT_TEST_POSTGRES_URL"),
    reason="STOREFRONT_TEST_POSTGRES_URL is unset (scripts/test.sh sets it)",
)

#: Seconds within which replica B must serve what A committed: a bound, not a timing.
FRESH_WITHIN = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Replicas:
    a: Server
    b: Server
    #: nginx, in front of both.
    balancer: str
    database: str


def _nginx_config(root: Path, port: int, upstreams: list[str]) -> str:
    servers = "\n".join(f"    server {address};" for address in upstreams)
    return f"""
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  upstream storefront {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port} http2;
    location / {{
      grpc_pass grpc://storefront;
      grpc_read_timeout 300s;
      grpc_send_timeout 300s;
      client_max_body_size 0;
    }}
  }}
}}
"""


@contextlib.contextmanager
def nginx(root: Path, upstreams: list[str]) -> Iterator[str]:
    """nginx balancing gRPC over `upstreams`; yields its address."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(binary, os.X_OK):
        pytest.fail("nginx is not installed (apt-get install nginx; .ci/run does)", pytrace=False)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "nginx.conf"
    config.write_text(_nginx_config(root, port, upstreams))
    process = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not start: {process.stderr.read()}", pytrace=False)
            time.sleep(0.05)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """Replicas A and B on one new database, sharing the token key it holds, and nginx in
    front."""
    root = tmp_path_factory.mktemp("replicas")
    database = create_database("storefront_replicas_" + uuid.uuid4().hex[:16])
    env = {"STOREFRONT_DATABASE": database}
    with (
        connected_server(root / "a", env=env) as a,
        connected_server(root / "b", env=env) as b,
        nginx(root / "nginx", [a.address, b.address]) as balancer,
    ):
        yield Replicas(a=a, b=b, balancer=balancer, database=database)


def stub_of(channel: grpc.Channel):
    return product_service_pb2_grpc.ProductServiceStub(channel)


def wait_for(condition, what: str, within: float = FRESH_WITHIN) -> float:
    """Polls `condition` until it holds; returns how long that took, failing past `within`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            pytest.fail(f"{what} within {within:.0f} s")
        time.sleep(0.01)
    return time.monotonic() - start


def test_an_update_on_a_is_served_by_b_though_b_had_cached_the_product(replicas):
    a, b = stub_of(replicas.a.channel), stub_of(replicas.b.channel)
    created = create_product(a, name="Before")
    wait_for(lambda: get_product(b, created.id) == created, "B did not serve A's creation")
    # B has it cached now; A's update must reach B's cache.
    updated = update_product(a, product_pb2.Product(id=created.id, name="After"), ["name"])
    assert updated.etag != created.etag
    wait_for(lambda: get_product(b, created.id) == updated, "B still served the old version")


def test_a_stale_etag_is_refused_on_b_after_a_write_on_a(replicas):
    a, b = stub_of(replicas.a.channel), stub_of(replicas.b.channel)
    created = create_product(a)
    update_product(a, product_pb2.Product(id=created.id, stock=1), ["stock"])
    with pytest.raises(grpc.RpcError) as raised:
        update_product(
            b, product_pb2.Product(id=created.id, stock=2, etag=created.etag), ["stock"]
        )
    assert raised.value.code() == grpc.StatusCode.ABORTED


def test_a_token_signed_in_on_a_works_on_b(replicas):
    # replicas.a.token was issued by A's Login; B checks it with the key in the database.
    with contextlib.closing(authorized_channel(replicas.b.address, replicas.a.token)) as channel:
        created = create_product(stub_of(channel), name="Made on B with A's token")
    assert get_product(stub_of(replicas.a.channel), created.id) == created


def test_the_sign_in_lockout_counts_guesses_on_every_replica(replicas):
    # Five failures are free per username (the default). Spread over two replicas, each of
    # which alone has seen three, the sixth still starts the lockout, and both keep it.
    username = f"guesser-{uuid.uuid4().hex[:8]}"
    request = auth_pb2.LoginRequest(username=username, password="not the password")

    def sign_in(address: str) -> grpc.StatusCode:
        with grpc.insecure_channel(address) as channel:
            try:
                auth_pb2_grpc.AuthServiceStub(channel).Login(request, timeout=RPC_TIMEOUT)
            except grpc.RpcError as error:
                return error.code()
        return grpc.StatusCode.OK

    addresses = [replicas.a.address, replicas.b.address] * 3
    codes = [sign_in(address) for address in addresses]
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 5 + [grpc.StatusCode.RESOURCE_EXHAUSTED]
    for address in (replicas.a.address, replicas.b.address, replicas.balancer):
        assert sign_in(address) == grpc.StatusCode.RESOURCE_EXHAUSTED, address


def test_watchers_on_either_replica_see_concurrent_writes_on_both_once_in_order(replicas):
    a, b = stub_of(replicas.a.channel), stub_of(replicas.b.channel)
    category = unique_category()
    per_writer = 15
    with Watch(b, category=category) as on_b, Watch(a, category=category) as on_a:
        head = on_b.head()
        on_a.head()
        created: list[product_pb2.Product] = []
        lock = threading.Lock()

        def write(stub) -> None:
            for index in range(per_writer):
                product = create_product(stub, category=category, name=f"Writer {index}")
                with lock:
                    created.append(product)

        writers = [threading.Thread(target=write, args=(stub,)) for stub in (a, b, a, b)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        total = per_writer * len(writers)
        seen_b = on_b.take(total)
        seen_a = on_a.take(total)
    sequences = [change.sequence for change in seen_b]
    assert sequences == sorted(set(sequences)), "B's watch repeated or reordered a change"
    assert all(sequence > head for sequence in sequences)
    assert {change.product.id for change in seen_b} == {product.id for product in created}
    assert [(c.sequence, c.product.id) for c in seen_a] == [
        (c.sequence, c.product.id) for c in seen_b
    ]
    # since_sequence resumes on the other replica, and through the balancer, the same.
    with contextlib.closing(authorized_channel(replicas.balancer, replicas.a.token)) as channel:
        with Watch(stub_of(channel), category=category, since_sequence=head) as resumed:
            replayed = resumed.take(total)
    assert [c.sequence for c in replayed] == sequences


def test_chat_members_on_a_b_and_the_balancer_see_one_order_without_gaps_or_repeats(replicas):
    a, b = stub_of(replicas.a.channel), stub_of(replicas.b.channel)
    room = create_product(a).id
    balanced_channel = authorized_channel(
        replicas.balancer, replicas.a.token, replicas.a.token_for
    )
    per_member = 12
    with (
        contextlib.closing(balanced_channel),
        ChatSession(a) as ada,
        ChatSession(b) as bob,
        ChatSession(stub_of(balanced_channel)) as cy,
    ):
        ada.join_and_wait(room, "ada")
        bob.join_and_wait(room, "bob")
        cy_join = cy.join_and_wait(room, "cy")[-1]
        # Bob is on B: A's JOIN reached him from the database, as Cy's reaches both.
        assert ada.receive_until(is_join_of("cy"))[-1] == cy_join
        assert bob.receive_until(is_join_of("cy"))[-1] == cy_join
        members = [(ada, "ada"), (bob, "bob"), (cy, "cy")]
        for number in range(per_member):
            for member, name in members:
                member.say(room, f"{name} {number}")
        seen = {name: member.receive_messages(per_member * len(members)) for member, name in members}
    # One order for all, every sequence after Cy's JOIN once: no gap, no repeat.
    expected_sequences = list(
        range(cy_join.sequence + 1, cy_join.sequence + 1 + per_member * len(members))
    )
    assert [m.sequence for m in seen["ada"]] == expected_sequences
    assert summary(seen["bob"]) == summary(seen["ada"])
    assert summary(seen["cy"]) == summary(seen["ada"])
    for name in ("ada", "bob", "cy"):  # each member's messages keep the order they were sent in
        assert [m.text for m in seen["ada"] if m.sender == name] == [
            f"{name} {number}" for number in range(per_member)
        ]
    # A member joining on B later gets it all as history, then live whatever LEAVE of the
    # others was still being recorded, and its own JOIN: every sequence from 1, once.
    with ChatSession(b) as dee:
        history = dee.join_and_wait(room, "dee")
    said = [m for m in history if m.kind == ChatMessage.MESSAGE]
    assert summary(said) == summary(seen["ada"])
    sequences = [m.sequence for m in history]
    assert sequences[0] == 1
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))


def test_nginx_balances_unary_calls_over_both_replicas(replicas):
    with contextlib.closing(authorized_channel(replicas.balancer, replicas.a.token)) as channel:
        stub = stub_of(channel)
        products = [create_product(stub) for _ in range(6)]
        for product in products:
            assert get_product(stub, product.id) == product
    direct_a, direct_b = stub_of(replicas.a.channel), stub_of(replicas.b.channel)
    for product in products:
        assert get_product(direct_a, product.id) == product
        assert get_product(direct_b, product.id) == product


def test_sigkill_of_one_replica_leaves_the_other_and_the_balancer_serving(tmp_path_factory):
    # These replicas share their token key by a file every replica is given.
    root = tmp_path_factory.mktemp("replicas-kill")
    database = create_database("storefront_kill_" + uuid.uuid4().hex[:16])
    key = root / "token.key"
    key.write_bytes(secrets.token_bytes(64))
    key.chmod(0o600)
    env = {"STOREFRONT_DATABASE": database}
    args = ("--token-key-file", str(key))
    with (
        connected_server(root / "a", *args, env=env) as a,
        connected_server(root / "b", *args, env=env) as b,
        nginx(root / "nginx", [a.address, b.address]) as balancer,
    ):
        stub_a = stub_of(a.channel)
        created = create_product(stub_a)
        with Watch(stub_a, ids=[created.id]) as watch:
            watch.head()
            b.process.process.send_signal(signal.SIGKILL)
            b.process.process.wait(timeout=10)
            updated = update_product(stub_a, product_pb2.Product(id=created.id, stock=3), ["stock"])
            [change] = watch.take(1)
            assert change.product == updated
        with contextlib.closing(authorized_channel(balancer, a.token)) as channel:
            stub = stub_of(channel)
            # nginx tries the next upstream when a connection is refused.
            for _ in range(6):
                assert get_product(stub, created.id) == updated
