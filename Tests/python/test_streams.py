"""End-to-end tests of the streaming RPCs WatchProducts, DownloadProductImage and
ImportProducts over real loopback HTTP/2.

Most tests share the session's server and keep to their own products (unique skus, unique
categories, watches filtered by category or id), so they do not depend on one another or on
their order. Tests that need flags (a short change log, small import batches) or a catalogue
no other test writes to start a server of their own with `start_server`.

A watch never ends by itself, so a test proves that a watch sent nothing more than it
expected with a "sentinel": one more write that the watch must show next.
"""

from __future__ import annotations

import hashlib
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator

import grpc
import pytest
from conftest import (
    READ_TIMEOUT,
    RPC_TIMEOUT,
    STREAM_END,
    StreamReader,
    create_product,
    raises_rpc,
    unique_category,
    unique_sku,
)
from storefront.v1 import (
    image_pb2,
    import_pb2,
    product_pb2,
    product_service_pb2_grpc,
    watch_pb2,
)
from test_storefront import (
    INVALID_FIELDS,
    Image,
    delete_product,
    get_product,
    image_requests,
    list_products,
    make_png,
    update_product,
    writable_fields,
)

Code = grpc.StatusCode
Kind = watch_pb2.ProductChange.Kind
CREATED, UPDATED, DELETED = Kind.CREATED, Kind.UPDATED, Kind.DELETED
UNKNOWN_ID = "p_00000000000000000000000000"
UNKNOWN_IMAGE_ID = "img_00000000000000000000000000"
HEAD_HEADER = "x-change-sequence"

#: Seconds a watch may live; each test's watches last far less.
WATCH_DEADLINE = 60.0
#: Seconds to wait for a condition that a poll checks.
POLL_TIMEOUT = 10.0

#: One expected change: its kind and the product as the change must carry it.
Expected = tuple[int, product_pb2.Product]


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


class Watch(StreamReader):
    """One WatchProducts stream, read by a thread into a queue so that reads can time out."""

    def __init__(self, stub, **request_fields) -> None:
        request = watch_pb2.WatchProductsRequest(**request_fields)
        super().__init__(stub.WatchProducts(request, timeout=WATCH_DEADLINE))

    def head(self) -> int:
        """The `x-change-sequence` response header: the change log's head at the start."""
        metadata = dict(self.call.initial_metadata() or ())
        assert HEAD_HEADER in metadata, f"no {HEAD_HEADER} header in {metadata}"
        return int(metadata[HEAD_HEADER])

    def _next(self, received: list) -> watch_pb2.ProductChange:
        try:
            item = self._incoming.get(timeout=READ_TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no change within {READ_TIMEOUT:.0f} s after {summary(received)}")
        if isinstance(item, grpc.RpcError):
            pytest.fail(
                f"the watch failed after {summary(received)}: {item.code()} {item.details()}"
            )
        if item is STREAM_END:
            pytest.fail(f"the watch ended after {summary(received)}")
        return item

    def take(self, count: int) -> list[watch_pb2.ProductChange]:
        """The next `count` changes."""
        received: list[watch_pb2.ProductChange] = []
        while len(received) < count:
            received.append(self._next(received))
        return received

    def take_until(
        self, predicate: Callable[[watch_pb2.ProductChange], bool]
    ) -> list[watch_pb2.ProductChange]:
        """Every change up to, not including, the first that satisfies `predicate`."""
        received: list[watch_pb2.ProductChange] = []
        while True:
            change = self._next(received)
            if predicate(change):
                return received
            received.append(change)

    def error(self) -> grpc.RpcError:
        """Waits for the stream to end; its error (fails the test if it ended well)."""
        received: list[watch_pb2.ProductChange] = []
        while True:
            try:
                item = self._incoming.get(timeout=READ_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"the watch did not end within {READ_TIMEOUT:.0f} s")
            if isinstance(item, grpc.RpcError):
                return item
            if item is STREAM_END:
                pytest.fail(f"the watch ended without an error after {summary(received)}")
            received.append(item)


def summary(changes: Iterable[watch_pb2.ProductChange]) -> list[tuple[int, str, str, str]]:
    """What a failure message shows of changes: sequence, kind, product id and etag."""
    return [(c.sequence, Kind.Name(c.kind), c.product.id, c.product.etag) for c in changes]


def assert_changes(
    changes: list[watch_pb2.ProductChange], expected: list[Expected], after: int | None = None
) -> None:
    """The changes are exactly `expected`, in order, with strictly increasing sequences."""
    shown = [(Kind.Name(c.kind), c.product.id, c.product.etag) for c in changes]
    wanted = [(Kind.Name(kind), product.id, product.etag) for kind, product in expected]
    assert shown == wanted, f"got {summary(changes)}"
    for change, (_, product) in zip(changes, expected):
        assert change.product == product, f"change {change.sequence} carries\n{change.product}"
        assert change.change_time.ToNanoseconds() >= product.update_time.ToNanoseconds() > 0
    sequences = [change.sequence for change in changes]
    assert all(a < b for a, b in itertools.pairwise(sequences)), sequences
    if after is not None and sequences:
        assert sequences[0] > after, f"sequences {sequences} must all be after {after}"


def is_creation_of(product: product_pb2.Product) -> Callable[[watch_pb2.ProductChange], bool]:
    return lambda change: change.kind == CREATED and change.product.id == product.id


def assert_nothing_more(watch: Watch, stub, category: str) -> watch_pb2.ProductChange:
    """Creates a sentinel product in `category`; the watch must show it next. Returns it."""
    sentinel = create_product(stub, category=category, name="sentinel")
    [change] = watch.take(1)
    assert (change.kind, change.product.id) == (CREATED, sentinel.id), (
        f"expected the sentinel's creation, got {summary([change])}"
    )
    return change


def current_head(stub) -> int:
    """The change log's head, as a live watch's header tells it."""
    with Watch(stub, ids=[UNKNOWN_ID]) as watch:
        return watch.head()


def own_stub(server):
    return product_service_pb2_grpc.ProductServiceStub(server.channel)


def poll(condition: Callable[[], bool], what: str, timeout: float = POLL_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.02)


def upload_png(stub, product_id: str, data: bytes, filename: str = "photo.png"):
    image = Image(filename, "image/png", data, hashlib.sha256(data).hexdigest())
    return stub.UploadProductImages(image_requests(product_id, [image], chunk_size=65536))


def importable(category: str, **fields) -> product_pb2.Product:
    """A valid product for ImportProducts, with `fields` overriding the defaults."""
    values = {
        "sku": unique_sku(),
        "name": "Imported product",
        "description": "Imported by the Python end-to-end tests.",
        "category": category,
        "price_cents": 500,
        "currency": "USD",
        "stock": 1,
    }
    values.update(fields)
    return product_pb2.Product(**values)


def reimport(product: product_pb2.Product, **changes) -> product_pb2.Product:
    """What ImportProducts takes to set `product`'s fields to `changes` (none: unchanged)."""
    return product_pb2.Product(**(writable_fields(product) | changes))


def import_requests(products: Iterable[product_pb2.Product]):
    return (import_pb2.ImportProductsRequest(product=product) for product in products)


def import_products(stub, products: Iterable[product_pb2.Product], **kwargs):
    return stub.ImportProducts(import_requests(products), **kwargs)


def counts(response: import_pb2.ImportProductsResponse) -> tuple[int, int, int, int]:
    return (response.created, response.updated, response.unchanged, response.failed)


def by_sku(products: Iterable[product_pb2.Product]) -> dict[str, product_pb2.Product]:
    return {product.sku: product for product in products}


# --------------------------------------------------------------------------------------
# WatchProducts
# --------------------------------------------------------------------------------------


def test_watch_without_since_sequence_sends_live_changes_after_the_head_header(stub):
    category = unique_category()
    before = create_product(stub, category=category)
    with Watch(stub, ids=[before.id], since_sequence=0) as history:
        [creation] = history.take(1)
    assert (creation.kind, creation.product) == (CREATED, before)

    with Watch(stub, category=category) as watch:
        head = watch.head()
        assert head >= creation.sequence
        after = create_product(stub, category=category)
        updated = update_product(stub, product_pb2.Product(id=before.id, stock=7), ["stock"])

        changes = watch.take(2)
        assert_changes(changes, [(CREATED, after), (UPDATED, updated)], after=head)
        assert_nothing_more(watch, stub, category)


def test_watch_since_sequence_replays_missed_changes_then_live_ones(stub):
    category = unique_category()
    start = current_head(stub)
    first = create_product(stub, category=category)
    second = create_product(stub, category=category)
    first_updated = update_product(stub, product_pb2.Product(id=first.id, name="Renamed"), ["name"])
    delete_product(stub, second.id)
    missed: list[Expected] = [
        (CREATED, first),
        (CREATED, second),
        (UPDATED, first_updated),
        (DELETED, second),
    ]

    with Watch(stub, category=category, since_sequence=start) as watch:
        replayed = watch.take(len(missed))
        assert_changes(replayed, missed, after=start)

        third = create_product(stub, category=category)
        first_again = update_product(stub, product_pb2.Product(id=first.id, stock=0), ["stock"])
        live = watch.take(2)
        assert_changes(replayed + live, missed + [(CREATED, third), (UPDATED, first_again)])
        assert_nothing_more(watch, stub, category)


def test_watch_shows_every_kind_of_product_write(stub):
    category = unique_category()
    since = current_head(stub)
    expected: list[Expected] = []

    created = create_product(stub, category=category, price_cents=100)
    expected.append((CREATED, created))

    patch = product_pb2.Product(id=created.id, price_cents=150)
    updated = update_product(stub, patch, ["price_cents"])
    expected.append((UPDATED, updated))

    upload = upload_png(stub, created.id, make_png(seed=11))
    with_image = get_product(stub, created.id)
    assert list(with_image.image_ids) == [upload.images[0].image_id]
    expected.append((UPDATED, with_image))

    known_changed = create_product(stub, category=category, stock=1)
    known_same = get_product(stub, create_product(stub, category=category).id)
    expected += [(CREATED, known_changed), (CREATED, known_same)]
    new_sku = unique_sku()
    response = import_products(
        stub,
        [
            importable(category, sku=new_sku),
            reimport(known_changed, stock=99),
            reimport(known_same),  # unchanged: no change
        ],
    )
    assert counts(response) == (1, 1, 1, 0)
    [imported] = [p for p in list_products(stub, category=category) if p.sku == new_sku]
    expected += [(CREATED, imported), (UPDATED, get_product(stub, known_changed.id))]

    before_delete = get_product(stub, created.id)
    delete_product(stub, created.id, etag=before_delete.etag)
    expected.append((DELETED, before_delete))

    with Watch(stub, category=category, since_sequence=since) as watch:
        changes = watch.take(len(expected))
        assert_changes(changes, expected, after=since)
        assert_nothing_more(watch, stub, category)


def test_watch_category_matches_the_category_before_or_after_the_change(stub):
    old, new = unique_category(), unique_category()
    since = current_head(stub)
    product = create_product(stub, category=old)
    moved = update_product(stub, product_pb2.Product(id=product.id, category=new), ["category"])
    patch = product_pb2.Product(id=moved.id, price_cents=1)
    repriced = update_product(stub, patch, ["price_cents"])
    # An import that moves a product out of a category shows on that category's feed too.
    other = create_product(stub, category=new)
    imported_back = import_products(stub, [reimport(other, category=old)])
    assert counts(imported_back) == (0, 1, 0, 0)
    other_moved = get_product(stub, other.id)

    with Watch(stub, category=old, since_sequence=since) as old_feed:
        changes = old_feed.take(3)
        # The repricing happened wholly in the new category; the sentinel comes next.
        assert_changes(changes, [(CREATED, product), (UPDATED, moved), (UPDATED, other_moved)])
        assert_nothing_more(old_feed, stub, old)

    with Watch(stub, category=new, since_sequence=since) as new_feed:
        changes = new_feed.take(4)
        assert_changes(
            changes,
            [(UPDATED, moved), (UPDATED, repriced), (CREATED, other), (UPDATED, other_moved)],
        )
        assert_nothing_more(new_feed, stub, new)


def test_watch_ids_filter_shows_only_those_products(stub):
    category = unique_category()
    watched = [create_product(stub, category=category) for _ in range(2)]
    ignored = create_product(stub, category=category)
    # 100 ids is the most a watch may name; the other 98 are unknown.
    ids = [p.id for p in watched] + [f"p_unknown{index:03d}" for index in range(98)]

    with Watch(stub, ids=ids) as watch:
        watch.head()
        update_product(stub, product_pb2.Product(id=ignored.id, stock=1), ["stock"])
        first = update_product(stub, product_pb2.Product(id=watched[0].id, stock=2), ["stock"])
        update_product(stub, product_pb2.Product(id=ignored.id, stock=3), ["stock"])
        delete_product(stub, ignored.id)
        second = get_product(stub, watched[1].id)
        delete_product(stub, second.id)
        first_again = update_product(stub, product_pb2.Product(id=first.id, stock=4), ["stock"])

        changes = watch.take(3)
        assert_changes(changes, [(UPDATED, first), (DELETED, second), (UPDATED, first_again)])

        # Nothing else: the next change shown is the next write to a watched product.
        create_product(stub, category=category)
        last = update_product(stub, product_pb2.Product(id=first.id, stock=5), ["stock"])
        assert_changes(watch.take(1), [(UPDATED, last)], after=changes[-1].sequence)


@pytest.mark.parametrize(
    ("ids", "violation"),
    [
        ([f"p_{index:03d}" for index in range(101)], "ids"),
        (["p_1", "", "p_2"], ("ids", "ids[1]")),
    ],
    ids=["101-ids", "empty-id"],
)
def test_watch_rejects_bad_ids(stub, assert_serving, ids, violation):
    with raises_rpc(Code.INVALID_ARGUMENT, field=violation):
        next(stub.WatchProducts(watch_pb2.WatchProductsRequest(ids=ids)))
    assert_serving()


def test_watch_rejects_a_negative_since_sequence(stub, assert_serving):
    request = watch_pb2.WatchProductsRequest(since_sequence=-1)
    with raises_rpc(Code.INVALID_ARGUMENT, field="since_sequence"):
        next(stub.WatchProducts(request))
    assert_serving()


def test_watch_since_sequence_past_the_head_is_out_of_range(stub, assert_serving):
    category = unique_category()
    head = current_head(stub)
    for since in (head + 1, head + 1_000_000):
        request = watch_pb2.WatchProductsRequest(category=category, since_sequence=since)
        with raises_rpc(Code.OUT_OF_RANGE):
            next(stub.WatchProducts(request))
    # The head itself is a valid place to resume from.
    with Watch(stub, category=category, since_sequence=head) as watch:
        assert_nothing_more(watch, stub, category)
    assert_serving()


def test_watch_since_a_pruned_sequence_is_out_of_range(start_server):
    server = start_server("--change-log-keep", "10")
    stub = own_stub(server)
    category = unique_category()
    created = [create_product(stub, category=category, name=f"P{i}") for i in range(50)]
    head = current_head(stub)
    assert head >= 50

    for since in (0, 1, head - 40):
        request = watch_pb2.WatchProductsRequest(since_sequence=since)
        with raises_rpc(Code.OUT_OF_RANGE):
            next(stub.WatchProducts(request))

    with Watch(stub, since_sequence=head - 5) as watch:
        sentinel = create_product(stub, category=category, name="sentinel")
        recent = watch.take_until(is_creation_of(sentinel))
    # The newest creations, the last one included, each once and in order.
    assert 1 <= len(recent) <= 5
    assert_changes(recent, [(CREATED, p) for p in created[-len(recent) :]], after=head - 5)
    assert get_product(stub, created[0].id) == created[0]


def test_watch_reconnect_resumes_without_gap_or_duplicate(start_server):
    server = start_server()  # no other writer: the watches need no filter
    stub = own_stub(server)
    expected: list[Expected] = []

    def write(kind: int, product: product_pb2.Product) -> product_pb2.Product:
        expected.append((kind, product))
        return product

    with Watch(stub) as first_watch:
        head = first_watch.head()
        a = write(CREATED, create_product(stub))
        b = write(CREATED, create_product(stub))
        a = write(UPDATED, update_product(stub, product_pb2.Product(id=a.id, stock=10), ["stock"]))
        upload_png(stub, b.id, make_png(seed=21))
        b = write(UPDATED, get_product(stub, b.id))
        write(DELETED, a)
        delete_product(stub, a.id)
        first_part = first_watch.take(3)
    last_seen = first_part[-1].sequence

    # Written while no watch is connected.
    c = write(CREATED, create_product(stub))
    b = write(UPDATED, update_product(stub, product_pb2.Product(id=b.id, name="B"), ["name"]))
    c = write(UPDATED, update_product(stub, product_pb2.Product(id=c.id, stock=0), ["stock"]))
    write(DELETED, b)
    delete_product(stub, b.id)

    with Watch(stub, since_sequence=last_seen) as second_watch:
        rest = second_watch.take(len(expected) - len(first_part))
        live = write(CREATED, create_product(stub))
        rest += second_watch.take(1)
        assert_changes(first_part + rest, expected, after=head)
        assert rest[-1].product == live
        assert_nothing_more(second_watch, stub, "pytest")

    # The whole log from the start tells the same story with the same sequences.
    with Watch(stub, since_sequence=0) as everything:
        replay = everything.take(len(expected))
    assert summary(replay) == summary(first_part + rest)


def test_cancelling_a_watch_leaves_the_server_serving(stub, assert_serving):
    category = unique_category()
    product = create_product(stub, category=category)

    # Cancelled while it waits for a change.
    idle = Watch(stub, category=category)
    idle.head()
    idle.cancel()
    assert idle.error().code() == Code.CANCELLED

    # Cancelled after a change, with more to send.
    for stock in range(3):
        update_product(stub, product_pb2.Product(id=product.id, stock=stock), ["stock"])
    busy = Watch(stub, category=category, since_sequence=0)
    busy.take(1)
    busy.cancel()
    assert busy.error().code() == Code.CANCELLED

    assert_serving()
    with Watch(stub, category=category, since_sequence=0) as again:
        assert [c.kind for c in again.take(4)] == [CREATED, UPDATED, UPDATED, UPDATED]
        assert_nothing_more(again, stub, category)


# --------------------------------------------------------------------------------------
# DownloadProductImage
# --------------------------------------------------------------------------------------

DEFAULT_CHUNK = 64 * 1024


class Uploaded:
    def __init__(self, record: image_pb2.UploadedImage, data: bytes) -> None:
        self.record = record
        self.data = data


@pytest.fixture(scope="module")
def uploaded(stub) -> Uploaded:
    """A PNG of about 270 KB (random pixels barely compress) uploaded to a product."""
    product = create_product(stub)
    data = make_png(width=300, height=300, seed=31)
    assert 250_000 < len(data) < 300_000
    [record] = upload_png(stub, product.id, data, filename="large.png").images
    return Uploaded(record, data)


def download(stub, image_id: str, offset: int = 0, chunk_size: int = 0):
    """The metadata and the chunks of a DownloadProductImage stream."""
    request = image_pb2.DownloadProductImageRequest(
        image_id=image_id, offset=offset, chunk_size=chunk_size
    )
    messages = list(stub.DownloadProductImage(request))
    assert messages, "the stream carried no message"
    assert messages[0].WhichOneof("data") == "metadata", f"first message: {messages[0]}"
    kinds = [message.WhichOneof("data") for message in messages[1:]]
    assert kinds == ["chunk"] * len(kinds), f"after the metadata: {kinds}"
    return messages[0].metadata, [message.chunk for message in messages[1:]]


def assert_chunked(chunks: list[bytes], chunk_size: int) -> None:
    sizes = [len(chunk) for chunk in chunks]
    assert all(size == chunk_size for size in sizes[:-1]), sizes
    assert 0 < sizes[-1] <= chunk_size, sizes


def test_download_sends_the_metadata_then_the_uploaded_bytes(stub, uploaded):
    metadata, chunks = download(stub, uploaded.record.image_id)

    assert metadata == uploaded.record
    assert metadata.filename == "large.png"
    assert metadata.content_type == "image/png"
    assert metadata.size_bytes == len(uploaded.data)
    assert metadata.sha256 == hashlib.sha256(uploaded.data).hexdigest()
    assert b"".join(chunks) == uploaded.data
    assert_chunked(chunks, DEFAULT_CHUNK)
    assert len(chunks) == -(-len(uploaded.data) // DEFAULT_CHUNK)


@pytest.mark.parametrize("chunk_size", [1024, 5000, DEFAULT_CHUNK, 1_048_576])
def test_download_chunk_size_bounds_every_chunk(stub, uploaded, chunk_size):
    metadata, chunks = download(stub, uploaded.record.image_id, chunk_size=chunk_size)

    assert metadata == uploaded.record
    assert b"".join(chunks) == uploaded.data
    assert_chunked(chunks, chunk_size)


@pytest.mark.parametrize("offset", [1, 1000, DEFAULT_CHUNK, 100_003, "last-byte"])
def test_download_from_an_offset_sends_the_rest(stub, uploaded, offset):
    if offset == "last-byte":
        offset = len(uploaded.data) - 1
    metadata, chunks = download(stub, uploaded.record.image_id, offset=offset, chunk_size=4096)

    assert metadata == uploaded.record
    assert b"".join(chunks) == uploaded.data[offset:]
    assert_chunked(chunks, 4096)


def test_download_from_the_end_sends_the_metadata_only(stub, uploaded):
    metadata, chunks = download(stub, uploaded.record.image_id, offset=len(uploaded.data))

    assert metadata == uploaded.record
    assert chunks == []


@pytest.mark.parametrize(
    ("fields", "violation"),
    [
        ({"offset": -1}, "offset"),
        ({"chunk_size": 100}, "chunk_size"),
        ({"chunk_size": 1023}, "chunk_size"),
        ({"chunk_size": 1_048_577}, "chunk_size"),
        ({"chunk_size": 2_000_000}, "chunk_size"),
        ({"chunk_size": -1}, "chunk_size"),
        ({"image_id": ""}, "image_id"),
    ],
    ids=repr,
)
def test_download_rejects_invalid_arguments(stub, assert_serving, uploaded, fields, violation):
    request = image_pb2.DownloadProductImageRequest(image_id=uploaded.record.image_id)
    for name, value in fields.items():
        setattr(request, name, value)
    with raises_rpc(Code.INVALID_ARGUMENT, field=violation):
        list(stub.DownloadProductImage(request))
    assert_serving()


def test_download_past_the_end_is_out_of_range(stub, assert_serving, uploaded):
    for offset in (len(uploaded.data) + 1, 2**62):
        request = image_pb2.DownloadProductImageRequest(
            image_id=uploaded.record.image_id, offset=offset
        )
        with raises_rpc(Code.OUT_OF_RANGE):
            list(stub.DownloadProductImage(request))
    assert_serving()


def test_download_of_an_unknown_image_is_not_found(stub, assert_serving):
    request = image_pb2.DownloadProductImageRequest(image_id=UNKNOWN_IMAGE_ID)
    with raises_rpc(Code.NOT_FOUND):
        list(stub.DownloadProductImage(request))
    assert_serving()


def test_download_resumed_after_a_cancel_is_byte_identical(stub, assert_serving, uploaded):
    request = image_pb2.DownloadProductImageRequest(
        image_id=uploaded.record.image_id, chunk_size=4096
    )
    call = stub.DownloadProductImage(request)
    first = next(call)
    assert first.WhichOneof("data") == "metadata"
    received = bytearray()
    for message in itertools.islice(call, 5):
        assert message.WhichOneof("data") == "chunk"
        received += message.chunk
    call.cancel()
    with raises_rpc(Code.CANCELLED):
        list(call)
    assert len(received) == 5 * 4096

    metadata, chunks = download(stub, uploaded.record.image_id, offset=len(received))
    received += b"".join(chunks)

    assert metadata == first.metadata
    assert bytes(received) == uploaded.data
    assert hashlib.sha256(received).hexdigest() == metadata.sha256
    assert_serving()


# --------------------------------------------------------------------------------------
# ImportProducts
# --------------------------------------------------------------------------------------


def test_import_creates_new_skus_and_a_rerun_leaves_them_unchanged(stub):
    category = unique_category()
    products = [
        importable(category, name=f"Item {i}", price_cents=100 * i, stock=i) for i in range(5)
    ]

    first = import_products(stub, products)
    assert counts(first) == (5, 0, 0, 0)
    assert list(first.failures) == []
    listed = list_products(stub, category=category)
    assert {sku: writable_fields(p) for sku, p in by_sku(listed).items()} == {
        p.sku: writable_fields(p) for p in products
    }
    for product in listed:
        assert product.id and product.etag and list(product.image_ids) == []

    second = import_products(stub, products)
    assert counts(second) == (0, 0, 5, 0)
    assert list_products(stub, category=category) == listed  # not even touched


def test_import_updates_every_mutable_field_of_known_skus(stub):
    category, moved_to = unique_category(), unique_category()
    originals = [create_product(stub, category=category, name=f"Old {i}") for i in range(3)]
    replacements = [
        importable(
            moved_to,
            sku=original.sku,
            name=f"New {i}",
            description="Rewritten",
            price_cents=12345 + i,
            currency="EUR",
            stock=77 + i,
            # Ignored on import.
            id="client-id",
            etag="client-etag",
            image_ids=["img_client"],
        )
        for i, original in enumerate(originals)
    ]

    response = import_products(stub, replacements)

    assert counts(response) == (0, 3, 0, 0)
    assert list_products(stub, category=category) == []
    for original, replacement in zip(originals, replacements):
        current = get_product(stub, original.id)
        assert writable_fields(current) == writable_fields(replacement)
        assert current.etag != original.etag
        assert current.create_time == original.create_time
        assert current.update_time.ToNanoseconds() >= original.update_time.ToNanoseconds()
        assert list(current.image_ids) == []
    assert sorted(p.id for p in list_products(stub, category=moved_to)) == sorted(
        p.id for p in originals
    )


def test_import_lists_invalid_products_and_goes_on(stub, assert_serving):
    category = unique_category()
    known = get_product(stub, create_product(stub, category=category, price_cents=10).id)
    invalid = [
        *INVALID_FIELDS,
        # A known sku with an invalid value leaves the product as it was.
        ({"sku": known.sku, "price_cents": -5}, "product.price_cents"),
    ]
    stream: list[product_pb2.Product] = []
    expected_failures = []
    valid = []
    for fields, field in invalid:
        good = importable(category, name=f"Good {len(stream)}")
        valid.append(good)
        stream.append(good)
        bad = importable(category, **fields)
        expected_failures.append((len(stream), bad.sku, field))
        stream.append(bad)
    valid.append(importable(category, name="Last"))
    stream.append(valid[-1])

    response = import_products(stub, stream)

    assert counts(response) == (len(valid), 0, 0, len(invalid))
    assert [(f.position, f.sku, f.field) for f in response.failures] == expected_failures
    assert all(failure.reason for failure in response.failures)
    listed = by_sku(list_products(stub, category=category))
    assert set(listed) == {p.sku for p in valid} | {known.sku}
    assert listed[known.sku] == known
    assert_serving()


def test_import_of_nothing_returns_zeros(stub, assert_serving):
    response = import_products(stub, [])
    assert counts(response) == (0, 0, 0, 0)
    assert list(response.failures) == []
    assert_serving()


def test_large_import_lands_whole_and_is_watched_once_per_product(stub):
    category = unique_category()
    prefix = unique_sku()
    products = [
        importable(category, sku=f"{prefix}-{i:04d}", name=f"Bulk {i}", price_cents=i, stock=i % 7)
        for i in range(5000)
    ]
    since = current_head(stub)

    response = import_products(stub, products, timeout=60)

    assert counts(response) == (5000, 0, 0, 0)
    listed = list_products(stub, category=category)
    assert len(listed) == 5000
    assert {sku: writable_fields(p) for sku, p in by_sku(listed).items()} == {
        p.sku: writable_fields(p) for p in products
    }
    with Watch(stub, category=category, since_sequence=since) as watch:
        changes = watch.take(5000)
        assert all(change.kind == CREATED for change in changes)
        # Committed in stream order.
        assert [change.product.sku for change in changes] == [p.sku for p in products]
        sequences = [change.sequence for change in changes]
        assert sequences[0] > since
        assert all(a < b for a, b in itertools.pairwise(sequences))
        assert_nothing_more(watch, stub, category)


def test_cancelled_import_keeps_whole_batches_and_a_rerun_completes_it(start_server):
    batch = 100
    server = start_server("--import-batch-size", str(batch))
    stub = own_stub(server)
    category = unique_category()
    prefix = unique_sku()
    products = [importable(category, sku=f"{prefix}-{i:04d}") for i in range(2000)]
    # The client sends 5 whole batches and half of the next, then stalls until cancelled.
    stall_at = 5 * batch + batch // 2
    release = threading.Event()

    def requests() -> Iterator[import_pb2.ImportProductsRequest]:
        for index, request in enumerate(import_requests(products)):
            if index == stall_at:
                release.wait(RPC_TIMEOUT * 3)
                return
            yield request

    def imported() -> int:
        return len(list_products(stub, category=category))

    future = stub.ImportProducts.future(requests(), timeout=RPC_TIMEOUT * 3)
    try:
        poll(lambda: imported() >= 5 * batch, "the first five batches committed")
        assert future.cancel(), "the import ended before it was cancelled"
    finally:
        release.set()
    assert future.cancelled()
    assert future.code() == Code.CANCELLED

    # Whole batches only: the half batch received before the cancel is never committed.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        count = imported()
        assert count % batch == 0, f"{count} products imported: not whole batches of {batch}"
        assert count == 5 * batch
        time.sleep(0.05)
    assert get_product(stub, list_products(stub, category=category, page_size=1)[0].id)

    rerun = import_products(stub, products, timeout=60)
    assert counts(rerun) == (2000 - 5 * batch, 0, 5 * batch, 0)
    assert rerun.created + rerun.unchanged == len(products)
    assert sorted(p.sku for p in list_products(stub, category=category)) == [
        p.sku for p in products
    ]
