"""Faults: the server killed with SIGKILL at awkward moments, clients that vanish mid-stream,
and a data folder that fills up. Each test runs servers of its own on its
own data folder (`start_server`), kills or restarts them, and checks what is on disk.

Everything acknowledged must survive a SIGKILL; nothing half-done may be left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest
from conftest import RPC_TIMEOUT, create_product, unique_category, unique_sku
from storefront.v1 import (
    chat_pb2,
    image_pb2,
    import_pb2,
    product_pb2,
    product_service_pb2,
    product_service_pb2_grpc,
)
from test_operations import metrics_url, method_of, scrape_until
from test_storefront import (
    ChatSession,
    get_product,
    list_products,
    png_image,
    update_product,
    upload,
)
from test_streams import download, poll

Code = grpc.StatusCode
ChatMessage = chat_pb2.ChatMessage

#: Seconds a server killed with SIGKILL may take to be gone.
KILL_TIMEOUT = 10.0


def own_stub(server) -> product_service_pb2_grpc.ProductServiceStub:
    return product_service_pb2_grpc.ProductServiceStub(server.channel)


def kill(server) -> None:
    """SIGKILL: no shutdown code runs, as in a power cut of the process."""
    server.process.process.send_signal(signal.SIGKILL)
    server.process.process.wait(timeout=KILL_TIMEOUT)


def staged_files(data_dir: Path) -> list[str]:
    staging = data_dir / "images" / "staging"
    return sorted(os.listdir(staging)) if staging.exists() else []


def blob_files(data_dir: Path) -> set[str]:
    blobs = data_dir / "images" / "blobs"
    return {name for shard in blobs.glob("*") for name in os.listdir(shard)} if blobs.exists() else set()


def product_request(**fields) -> product_pb2.Product:
    values = {"sku": unique_sku(), "name": "Fault test", "price_cents": 100, "currency": "USD"}
    values.update(fields)
    return product_pb2.Product(**values)


# ----------------------------------------------------------------------------------------
# SIGKILL after acknowledged writes
# ----------------------------------------------------------------------------------------


def test_every_acknowledged_write_survives_sigkill(start_server, tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(data_dir=data_dir)
    stub = own_stub(server)
    category = unique_category()

    created = [create_product(stub, category=category) for _ in range(5)]
    changed = created[0]
    changed.price_cents = 4242
    updated = update_product(stub, changed, ["price_cents"])
    image = png_image(seed=7)
    uploaded = upload(stub, created[1].id, image)
    imported = stub.ImportProducts(
        import_pb2.ImportProductsRequest(product=product_request(category=category))
        for _ in range(30)
    )
    assert imported.created == 30
    with ChatSession(stub) as member:
        member.join_and_wait(created[2].id, "alice")
        member.say(created[2].id, "acknowledged before the crash")
        echoed = member.receive_until(
            lambda m: m.kind == ChatMessage.MESSAGE and m.text == "acknowledged before the crash"
        )[-1]
        kill(server)

    restarted = own_stub(start_server(data_dir=data_dir))
    assert get_product(restarted, updated.id) == updated
    with_image = get_product(restarted, created[1].id)
    assert list(with_image.image_ids) == [uploaded.images[0].image_id]
    assert uploaded.images[0].sha256 in blob_files(data_dir)
    assert len(list_products(restarted, category=category)) == 5 + 30
    with ChatSession(restarted) as late:
        history = late.join_and_wait(created[2].id, "bob")
    assert any(
        m.text == echoed.text and m.sequence == echoed.sequence for m in history
    ), "the acknowledged chat message is not in the room's history"


# ----------------------------------------------------------------------------------------
# SIGKILL mid-stream
# ----------------------------------------------------------------------------------------


def test_sigkill_mid_upload_leaves_no_image_and_no_file(start_server, tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(data_dir=data_dir)
    stub = own_stub(server)
    product = create_product(stub)
    sent = threading.Event()
    release = threading.Event()

    def requests():
        yield image_pb2.ImageRequest(
            metadata=image_pb2.ImageMetadata(
                product_id=product.id, filename="big.png", content_type="image/png"
            )
        )
        yield image_pb2.ImageRequest(chunk=b"\x89PNG\r\n\x1a\n" + os.urandom(60_000))
        sent.set()
        release.wait(timeout=30)

    call = stub.UploadProductImages.future(requests(), timeout=30)
    assert sent.wait(timeout=10)
    poll(lambda: staged_files(data_dir) != [], "the upload's temporary file exists")
    kill(server)
    release.set()
    with pytest.raises(grpc.RpcError):
        call.result()

    restarted = own_stub(start_server(data_dir=data_dir))
    assert list(get_product(restarted, product.id).image_ids) == []
    assert staged_files(data_dir) == [], "a temporary file survived the restart"
    assert blob_files(data_dir) == set(), "an image file without a record survived"


def test_sigkill_mid_import_keeps_whole_batches_only(start_server, tmp_path):
    data_dir = tmp_path / "data"
    server = start_server("--import-batch-size", "100", data_dir=data_dir)
    stub = own_stub(server)
    category = unique_category()
    release = threading.Event()

    def requests():
        for _ in range(250):
            yield import_pb2.ImportProductsRequest(product=product_request(category=category))
        release.wait(timeout=30)

    call = stub.ImportProducts.future(requests(), timeout=30)
    poll(lambda: len(list_products(stub, category=category)) >= 200, "two batches committed")
    kill(server)
    release.set()
    with pytest.raises(grpc.RpcError):
        call.result()

    restarted = own_stub(start_server(data_dir=data_dir))
    assert len(list_products(restarted, category=category)) == 200


# ----------------------------------------------------------------------------------------
# Clients that vanish
# ----------------------------------------------------------------------------------------


def vanishing_client(address: str, script: str, token: str = "") -> subprocess.Popen:
    """A separate Python process that opens a stream with `script` (which names it `call`),
    prints "ready", then waits: told "cancel" on its stdin, it cancels the call (grpcio sends
    RST_STREAM) and says "cancelled"; killed, its connection is reset by the kernel, with no
    goodbye. Its channel turns off grpcio's window growth, so a stream it does not read stalls
    the server on flow control rather than landing in the client's buffers. Its calls send
    `token`."""
    code = f"""
import sys, time, threading, queue, grpc
sys.path[:0] = {sys_path_literal()}
from bearer_token import BearerToken
from storefront.v1 import product_service_pb2_grpc, product_pb2, product_service_pb2, image_pb2, chat_pb2, watch_pb2, import_pb2
channel = grpc.intercept_channel(
    grpc.insecure_channel("{address}", options=[("grpc.http2.bdp_probe", 0)]),
    BearerToken({token!r}),
)
stub = product_service_pb2_grpc.ProductServiceStub(channel)
{script}
print("ready", flush=True)
if sys.stdin.readline().strip() == "cancel":
    call.cancel()
    print("cancelled", flush=True)
time.sleep(60)
"""
    process = subprocess.Popen(
        [os.sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def sys_path_literal() -> str:
    return repr([path for path in os.sys.path if path])


#: How each streaming RPC is opened and left hanging by the vanishing client; ROOM is a
#: product, IMAGE one of its images (large enough that a download stalls on flow control).
STREAM_SCRIPTS = {
    "Chat": (
        "q = queue.Queue(); q.put(chat_pb2.ChatMessage(kind=chat_pb2.ChatMessage.JOIN, "
        "room=ROOM, sender='vanishing'))\n"
        "call = stub.Chat(iter(q.get, None))\n"
        "next(call)"
    ),
    "WatchProducts": (
        "call = stub.WatchProducts(watch_pb2.WatchProductsRequest())\ncall.initial_metadata()"
    ),
    "ListProducts": ("call = stub.ListProducts(product_service_pb2.ProductRequest())\nnext(call)"),
    "DownloadProductImage": (
        "call = stub.DownloadProductImage(image_pb2.DownloadProductImageRequest("
        "image_id=IMAGE, chunk_size=1024))\n"
        "next(call)"
    ),
    "UploadProductImages": (
        "def requests():\n"
        "    yield image_pb2.ImageRequest(metadata=image_pb2.ImageMetadata(product_id=ROOM, "
        "filename='x.png', content_type='image/png'))\n"
        "    yield image_pb2.ImageRequest(chunk=b'\\x89PNG\\r\\n\\x1a\\n' + bytes(50000))\n"
        "    threading.Event().wait()\n"
        "call = stub.UploadProductImages.future(requests())\n"
        "time.sleep(0.5)"
    ),
    "ImportProducts": (
        "def requests():\n"
        "    yield import_pb2.ImportProductsRequest(product=product_pb2.Product(sku='vanishing-1', "
        "name='Vanishing', category='vanishing', price_cents=1, currency='USD', stock=1))\n"
        "    threading.Event().wait()\n"
        "call = stub.ImportProducts.future(requests())\n"
        "time.sleep(0.5)"
    ),
}


@pytest.mark.parametrize("how", ["connection-reset", "rst-stream-cancel"])
@pytest.mark.parametrize("rpc", sorted(STREAM_SCRIPTS))
def test_a_vanished_client_frees_its_stream_within_a_second(start_server, rpc, how):
    """The client goes away mid-stream, by a reset connection or by cancelling the call
    (RST_STREAM on a connection that stays open; compare grpc-swift-2 issue 17): the server
    ends the handler, frees the chat member and the temporary file within a second."""
    server = start_server("--metrics-port", "0", "--demo-catalog", "20000")
    stub = own_stub(server)
    room = create_product(stub)
    image_id = ""
    if rpc == "DownloadProductImage":
        image = png_image(seed=1)
        large = image._replace(data=image.data + os.urandom(4 << 20), sha256="")
        image_id = upload(stub, room.id, large).images[0].image_id
    url = metrics_url(server)
    script = STREAM_SCRIPTS[rpc].replace("ROOM", repr(room.id)).replace("IMAGE", repr(image_id))
    client = vanishing_client(server.address, script, token=server.token)
    try:
        scrape_until(
            url, lambda m: _assert(m.value("storefront_rpc_in_flight", method=method_of(rpc)) == 1)
        )
        if rpc == "UploadProductImages":
            poll(lambda: staged_files(server.process.data_dir) != [], "the temporary file")
        if how == "rst-stream-cancel":
            client.stdin.write("cancel\n")
            client.stdin.flush()
            assert client.stdout.readline().strip() == "cancelled"
        else:
            client.kill()
        gone_at = time.monotonic()
        scrape_until(
            url, lambda m: _assert(m.value("storefront_rpc_in_flight", method=method_of(rpc)) == 0)
        )
        freed_after = time.monotonic() - gone_at
    finally:
        client.kill()
        client.wait()
    assert freed_after < 1.0 + 0.5, f"the {rpc} stream was freed {freed_after:.2f} s later"
    if rpc == "Chat":
        scrape_until(url, lambda m: _assert(m.value("storefront_chat_members") == 0))
    if rpc == "UploadProductImages":
        poll(lambda: staged_files(server.process.data_dir) == [], "the temporary file removed")
    if rpc == "ImportProducts":
        assert list_products(stub, category="vanishing") == []  # the open batch was not applied
    create_product(stub)  # still serving


def _assert(condition: bool) -> None:
    assert condition


# ----------------------------------------------------------------------------------------
# A data folder that fills up
# ----------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs; needs root (CI runs as root). Unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (this suite runs as root in CI): {result.stderr}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(path: Path) -> Path:
    """Fills the file system of `path` to the last byte; returns the filler file."""
    filler = path / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(descriptor, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(descriptor)
    return filler


def expect_code(call, *codes: grpc.StatusCode) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    assert raised.value.code() in codes, f"{raised.value.code()}: {raised.value.details()}"
    return raised.value


def test_a_full_disk_refuses_writes_keeps_reads_and_recovers(start_server, small_disk):
    server = start_server(data_dir=small_disk / "data")
    stub = own_stub(server)
    category = unique_category()
    kept = create_product(stub, category=category)
    filler = fill(small_disk)

    for attempt in range(5):  # SQLite may still find room in pages it already has
        try:
            create_product(stub, category=category, description="x" * 9_000)
        except grpc.RpcError as error:
            assert error.code() in (Code.RESOURCE_EXHAUSTED, Code.UNAVAILABLE), error.details()
            assert "disk" in error.details() or "unavailable" in error.details()
            break
    else:
        pytest.fail("writes kept succeeding on a full disk")
    expect_code(
        lambda: upload(stub, kept.id, png_image(seed=3)),
        Code.RESOURCE_EXHAUSTED,
        Code.UNAVAILABLE,
    )
    assert staged_files(small_disk / "data") == []
    assert get_product(stub, kept.id) == kept
    assert [p.id for p in list_products(stub, category=category)][:1] == [kept.id]

    filler.unlink()
    recovered = create_product(stub, category=category)
    assert get_product(stub, recovered.id) == recovered
    assert upload(stub, kept.id, png_image(seed=4)).images


# ----------------------------------------------------------------------------------------
# A data folder whose file system turns read-only
# ----------------------------------------------------------------------------------------


@pytest.fixture
def read_only_turning_disk(tmp_path):
    """A 64 MiB ext4 file system on a loop device, mounted with errors=remount-ro; needs root
    (CI runs as root). Yields the mount point and a function that turns it read-only under
    open files, as the kernel does when a disk fails (ext4's trigger_fs_error)."""
    image = tmp_path / "disk.img"
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    with open(image, "wb") as file:
        file.truncate(64 << 20)
    for command in (
        ["mkfs.ext4", "-q", "-F", str(image)],
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(mount_point)],
    ):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"{command[0]} failed (this suite runs as root in CI): {result.stderr}")
    device = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", str(mount_point)], capture_output=True, text=True
    ).stdout.strip()
    trigger = Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"

    def turn_read_only() -> None:
        trigger.write_text("storefront fault suite")
        options = subprocess.run(
            ["findmnt", "-n", "-o", "OPTIONS", str(mount_point)], capture_output=True, text=True
        ).stdout
        assert "emergency_ro" in options or options.startswith("ro"), options

    try:
        yield mount_point, turn_read_only
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_disk_turned_read_only_refuses_writes_and_keeps_serving_reads(
    start_server, read_only_turning_disk
):
    mount_point, turn_read_only = read_only_turning_disk
    data_dir = mount_point / "data"
    server = start_server(data_dir=data_dir)
    stub = own_stub(server)
    category = unique_category()
    kept = create_product(stub, category=category)
    image = png_image(seed=5)
    uploaded = upload(stub, kept.id, image).images[0]
    kept = get_product(stub, kept.id)

    turn_read_only()

    unavailable = (Code.UNAVAILABLE,)
    expect_code(lambda: create_product(stub, category=category), *unavailable)
    renamed = product_pb2.Product()
    renamed.CopyFrom(kept)
    renamed.name = "Renamed"
    expect_code(lambda: update_product(stub, renamed, ["name"]), *unavailable)
    expect_code(
        lambda: stub.DeleteProduct(
            product_service_pb2.DeleteProductRequest(id=kept.id), timeout=RPC_TIMEOUT
        ),
        *unavailable,
    )
    expect_code(lambda: upload(stub, kept.id, png_image(seed=6)), *unavailable)
    expect_code(
        lambda: stub.ImportProducts(
            iter([import_pb2.ImportProductsRequest(product=product_request(category=category))]),
            timeout=RPC_TIMEOUT,
        ),
        *unavailable,
    )
    join = ChatMessage(kind=ChatMessage.JOIN, room=kept.id, sender="reader")
    expect_code(lambda: list(stub.Chat(iter([join]), timeout=RPC_TIMEOUT)), *unavailable)

    # Reads go on, and show exactly what was acknowledged before.
    for _ in range(3):
        assert get_product(stub, kept.id) == kept
        assert list_products(stub, category=category) == [kept]
        metadata, chunks = download(stub, uploaded.image_id)
        assert b"".join(chunks) == image.data
    assert staged_files(data_dir) == []
