"""End-to-end tests of storefront.v1.ProductService over real loopback HTTP/2.

Each test makes its own products (unique skus, unique categories), so tests do not depend
on one another or on their order, and the whole module shares one server.
"""

from __future__ import annotations

import hashlib
import itertools
import queue
import random
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import grpc
import pytest
from bearer_token import CHAT_AS_KEY
from conftest import (
    READ_TIMEOUT,
    RPC_TIMEOUT,
    STREAM_END,
    StreamReader,
    bad_request_fields,
    create_product,
    raises_rpc,
    running_server,
    unique_category,
    unique_sku,
)
from google.protobuf import field_mask_pb2, timestamp_pb2
from storefront.v1 import chat_pb2, image_pb2, product_pb2, product_service_pb2

Code = grpc.StatusCode
ChatMessage = chat_pb2.ChatMessage
MUTABLE_FIELDS = ("sku", "name", "description", "category", "price_cents", "currency", "stock")
UNKNOWN_ID = "p_00000000000000000000000000"


def get_product(stub, product_id: str) -> product_pb2.Product:
    return stub.GetProduct(product_service_pb2.ProductRequest(id=product_id)).product


def update_product(stub, product: product_pb2.Product, paths: Iterable[str] = ()):
    request = product_service_pb2.UpdateProductRequest(
        product=product, update_mask=field_mask_pb2.FieldMask(paths=list(paths))
    )
    return stub.UpdateProduct(request).product


def delete_product(stub, product_id: str, etag: str = "") -> None:
    stub.DeleteProduct(product_service_pb2.DeleteProductRequest(id=product_id, etag=etag))


def create_and_read_back(stub, **fields) -> product_pb2.Product:
    """Creates a product and returns it as GetProduct reads it: the baseline for "unchanged"."""
    return get_product(stub, create_product(stub, **fields).id)


def writable_fields(product: product_pb2.Product) -> dict[str, object]:
    return {field: getattr(product, field) for field in MUTABLE_FIELDS}


def nanos(timestamp: timestamp_pb2.Timestamp) -> int:
    return timestamp.ToNanoseconds()


# --------------------------------------------------------------------------------------
# CreateProduct and GetProduct
# --------------------------------------------------------------------------------------


def test_create_product_assigns_id_etag_and_times_and_get_returns_it(stub):
    sku = unique_sku()
    created = create_product(
        stub,
        sku=sku,
        name="Espresso cup",
        description="Porcelain, 80 ml",
        category="kitchen",
        price_cents=1250,
        currency="EUR",
        stock=42,
    )

    assert created.id
    assert created.etag
    assert nanos(created.create_time) > 0
    assert nanos(created.update_time) >= nanos(created.create_time)
    assert (created.sku, created.name, created.description, created.category) == (
        sku,
        "Espresso cup",
        "Porcelain, 80 ml",
        "kitchen",
    )
    assert (created.price_cents, created.currency, created.stock) == (1250, "EUR", 42)
    assert list(created.image_ids) == []
    read = get_product(stub, created.id)
    assert read == created, f"GetProduct answered\n{read}\nCreateProduct answered\n{created}"


def test_create_product_ignores_server_assigned_fields(stub):
    created = create_product(
        stub,
        id="client-chosen-id",
        etag="client-chosen-etag",
        image_ids=["img_client"],
        create_time=timestamp_pb2.Timestamp(seconds=1),
        update_time=timestamp_pb2.Timestamp(seconds=1),
    )

    assert created.id not in ("", "client-chosen-id")
    assert created.etag not in ("", "client-chosen-etag")
    assert list(created.image_ids) == []
    assert created.create_time.seconds > 1
    assert created.update_time.seconds > 1


def test_create_product_accepts_values_at_the_limits(stub):
    sku = "S" * 54 + unique_sku()[-10:]
    created = create_product(stub, sku=sku, name="N" * 200, price_cents=0, stock=0)

    assert len(created.sku) == 64
    assert created.name == "N" * 200
    assert (created.price_cents, created.stock) == (0, 0)


#: Product fields that CreateProduct and ImportProducts reject, each with the violated field.
INVALID_FIELDS = (
    ({"name": ""}, "product.name"),
    ({"name": "N" * 201}, "product.name"),
    ({"sku": "has space"}, "product.sku"),
    ({"sku": "S" * 65}, "product.sku"),
    ({"sku": ""}, "product.sku"),
    ({"price_cents": -1}, "product.price_cents"),
    ({"currency": "usd"}, "product.currency"),
    ({"currency": "US"}, "product.currency"),
    ({"stock": -1}, "product.stock"),
)


@pytest.mark.parametrize(
    ("fields", "violation"),
    INVALID_FIELDS,
    ids=[
        "empty-name",
        "201-char-name",
        "sku-with-space",
        "65-char-sku",
        "empty-sku",
        "negative-price",
        "lower-case-currency",
        "two-letter-currency",
        "negative-stock",
    ],
)
def test_create_product_rejects_invalid_fields(stub, assert_serving, fields, violation):
    with raises_rpc(Code.INVALID_ARGUMENT, field=violation):
        create_product(stub, **fields)
    assert_serving()


def test_create_product_names_every_invalid_field(stub, assert_serving):
    with raises_rpc(Code.INVALID_ARGUMENT, field="product.name") as info:
        create_product(stub, name="", price_cents=-5)
    assert {"product.name", "product.price_cents"} <= set(bad_request_fields(info.value))
    assert_serving()


def test_create_product_rejects_duplicate_sku(stub, assert_serving):
    first = create_product(stub)
    with raises_rpc(Code.ALREADY_EXISTS):
        create_product(stub, sku=first.sku, name="Another product")
    assert_serving()


def test_get_product_requires_an_id(stub, assert_serving):
    with raises_rpc(Code.INVALID_ARGUMENT, field="id"):
        get_product(stub, "")
    assert_serving()


def test_get_product_of_unknown_id_is_not_found(stub, assert_serving):
    with raises_rpc(Code.NOT_FOUND):
        get_product(stub, UNKNOWN_ID)
    assert_serving()


# --------------------------------------------------------------------------------------
# UpdateProduct
# --------------------------------------------------------------------------------------


def test_update_with_mask_changes_only_the_named_field(stub):
    original = create_and_read_back(stub, price_cents=1000)

    # The unmasked fields are empty here: they must be neither applied nor validated.
    patch = product_pb2.Product(id=original.id, etag=original.etag, price_cents=4242)
    updated = update_product(stub, patch, paths=["price_cents"])

    assert writable_fields(updated) == writable_fields(original) | {"price_cents": 4242}
    assert updated.id == original.id
    assert updated.etag not in ("", original.etag)
    assert updated.create_time == original.create_time
    assert nanos(updated.update_time) >= nanos(original.update_time)
    assert get_product(stub, original.id) == updated


def test_update_with_empty_mask_replaces_every_mutable_field(stub):
    original = create_product(stub)
    replacement = product_pb2.Product(
        id=original.id,
        sku=unique_sku(),
        name="Renamed",
        description="A new description",
        category=unique_category(),
        price_cents=777,
        currency="GBP",
        stock=3,
    )

    # No etag: the update is unconditional.
    updated = update_product(stub, replacement)

    assert writable_fields(updated) == writable_fields(replacement)
    assert updated.etag != original.etag
    assert writable_fields(get_product(stub, original.id)) == writable_fields(replacement)


def test_update_with_stale_etag_is_aborted_and_changes_nothing(stub, assert_serving):
    original = create_product(stub, price_cents=100)
    patch = product_pb2.Product(id=original.id, price_cents=200)
    update_product(stub, patch, paths=["price_cents"])
    current = get_product(stub, original.id)

    stale = product_pb2.Product(id=original.id, etag=original.etag, price_cents=300)
    with raises_rpc(Code.ABORTED):
        update_product(stub, stale, paths=["price_cents"])

    assert get_product(stub, original.id) == current
    assert_serving()


def test_update_with_unknown_mask_path_is_invalid(stub, assert_serving):
    original = create_and_read_back(stub)
    patch = product_pb2.Product(id=original.id, price_cents=1)
    with raises_rpc(Code.INVALID_ARGUMENT, field="update_mask"):
        update_product(stub, patch, paths=["bogus"])
    assert get_product(stub, original.id) == original
    assert_serving()


def test_update_with_invalid_value_names_the_field(stub, assert_serving):
    original = create_and_read_back(stub)
    patch = product_pb2.Product(id=original.id, price_cents=-1)
    with raises_rpc(Code.INVALID_ARGUMENT, field="product.price_cents"):
        update_product(stub, patch, paths=["price_cents"])
    assert get_product(stub, original.id) == original
    assert_serving()


def test_update_to_a_taken_sku_already_exists(stub, assert_serving):
    taken = create_product(stub)
    original = create_and_read_back(stub)
    with raises_rpc(Code.ALREADY_EXISTS):
        update_product(stub, product_pb2.Product(id=original.id, sku=taken.sku), paths=["sku"])
    assert get_product(stub, original.id) == original
    assert_serving()


def test_update_of_unknown_product_is_not_found(stub, assert_serving):
    patch = product_pb2.Product(id=UNKNOWN_ID, price_cents=1)
    with raises_rpc(Code.NOT_FOUND):
        update_product(stub, patch, paths=["price_cents"])
    assert_serving()


# --------------------------------------------------------------------------------------
# DeleteProduct
# --------------------------------------------------------------------------------------


def test_delete_with_stale_etag_is_aborted(stub, assert_serving):
    original = create_product(stub)
    update_product(stub, product_pb2.Product(id=original.id, stock=9), paths=["stock"])
    current = get_product(stub, original.id)

    with raises_rpc(Code.ABORTED):
        delete_product(stub, original.id, etag=original.etag)

    assert get_product(stub, original.id) == current
    assert_serving()


def test_delete_with_current_etag_removes_the_product(stub, assert_serving):
    product = create_product(stub)

    delete_product(stub, product.id, etag=product.etag)

    with raises_rpc(Code.NOT_FOUND):
        get_product(stub, product.id)
    with raises_rpc(Code.NOT_FOUND):
        delete_product(stub, product.id, etag=product.etag)
    assert_serving()


def test_delete_requires_an_id(stub, assert_serving):
    with raises_rpc(Code.INVALID_ARGUMENT, field="id"):
        delete_product(stub, "")
    assert_serving()


# --------------------------------------------------------------------------------------
# ListProducts
# --------------------------------------------------------------------------------------

CATALOGUE_SIZE = 30
QUERY = "GiZmO"


@dataclass(frozen=True)
class Catalogue:
    category: str
    #: The catalogue's products in id order, as CreateProduct returned them.
    products: list[product_pb2.Product]

    @property
    def ids(self) -> list[str]:
        return [product.id for product in self.products]

    def ids_where(self, predicate: Callable[[product_pb2.Product], bool]) -> list[str]:
        return [product.id for product in self.products if predicate(product)]


@pytest.fixture(scope="module")
def catalogue(stub) -> Catalogue:
    """30 products in a category of their own, priced 0, 100, ..., 2900 cents.

    Every 5th has "Blue Gizmo" in its name, every 7th "gizmotron" in its description.
    """
    category = unique_category()
    products = [
        create_product(
            stub,
            category=category,
            name=f"Blue Gizmo {index}" if index % 5 == 0 else f"Item {index}",
            description="Has a GIZMOTRON inside" if index % 7 == 0 else "Plain",
            price_cents=100 * index,
        )
        for index in range(CATALOGUE_SIZE)
    ]
    return Catalogue(category, sorted(products, key=lambda product: product.id))


def list_products(stub, **filters) -> list[product_pb2.Product]:
    request = product_service_pb2.ProductRequest(**filters)
    return [response.product for response in stub.ListProducts(request)]


def list_ids(stub, **filters) -> list[str]:
    return [product.id for product in list_products(stub, **filters)]


def test_list_by_category_returns_every_product_in_id_order(stub, catalogue):
    listed = list_products(stub, category=catalogue.category)

    ids = [product.id for product in listed]
    assert ids == catalogue.ids
    assert [writable_fields(p) for p in listed] == [writable_fields(p) for p in catalogue.products]
    assert all(before < after for before, after in itertools.pairwise(ids)), ids


def test_list_page_size_limits_the_count(stub, catalogue):
    assert list_ids(stub, category=catalogue.category, page_size=10) == catalogue.ids[:10]


def test_list_after_id_resumes_exactly(stub, catalogue):
    tenth = catalogue.ids[9]
    assert list_ids(stub, category=catalogue.category, after_id=tenth) == catalogue.ids[10:]


def test_list_pages_cover_the_catalogue_without_overlap_or_gap(stub, catalogue):
    seen: list[str] = []
    while True:
        after_id = seen[-1] if seen else ""
        page = list_ids(stub, category=catalogue.category, page_size=7, after_id=after_id)
        seen.extend(page)
        if len(page) < 7:
            break
    assert seen == catalogue.ids


def test_list_query_matches_name_or_description_ignoring_case(stub, catalogue):
    needle = QUERY.lower()
    expected = catalogue.ids_where(
        lambda p: needle in p.name.lower() or needle in p.description.lower()
    )

    assert len(expected) == 10  # 6 names and 5 descriptions, one product has both
    assert list_ids(stub, category=catalogue.category, query=QUERY) == expected


@pytest.mark.parametrize(
    "bounds",
    [
        {"min_price_cents": 500, "max_price_cents": 1500},
        {"min_price_cents": 1200, "max_price_cents": 1200},
        {"min_price_cents": 2800},
        {"max_price_cents": 100},
        {"max_price_cents": 0},  # a set bound of 0 is a bound, not "unset"
        {"min_price_cents": 0},
    ],
    ids=repr,
)
def test_list_price_bounds_are_inclusive(stub, catalogue, bounds):
    low = bounds.get("min_price_cents", 0)
    high = bounds.get("max_price_cents", 2**63 - 1)
    expected = catalogue.ids_where(lambda p: low <= p.price_cents <= high)

    assert expected
    assert list_ids(stub, category=catalogue.category, **bounds) == expected


@pytest.mark.parametrize(
    ("bounds", "violation"),
    [
        (
            {"min_price_cents": 2000, "max_price_cents": 1000},
            ("min_price_cents", "max_price_cents"),
        ),
        ({"min_price_cents": -1}, "min_price_cents"),
    ],
    ids=["min-above-max", "negative-min"],
)
def test_list_rejects_bad_price_bounds(stub, assert_serving, catalogue, bounds, violation):
    with raises_rpc(Code.INVALID_ARGUMENT, field=violation):
        list_products(stub, category=catalogue.category, **bounds)
    assert_serving()


def test_list_can_be_cancelled_after_the_first_product(stub, assert_serving, catalogue):
    call = stub.ListProducts(product_service_pb2.ProductRequest(category=catalogue.category))

    first = next(call)
    call.cancel()

    assert first.product.id == catalogue.ids[0]
    with raises_rpc(Code.CANCELLED):
        list(call)
    assert_serving()
    assert list_ids(stub, category=catalogue.category) == catalogue.ids


# --------------------------------------------------------------------------------------
# UploadProductImages
# --------------------------------------------------------------------------------------


def make_png(width: int = 40, height: int = 40, seed: int = 0) -> bytes:
    """A valid RGB PNG of random pixels (so it stays a few KB after compression)."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# A valid 1x1 GIF89a.
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(200)
TEXT = b"This is not an image, just some text.\n" * 20


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Image(NamedTuple):
    filename: str
    content_type: str
    data: bytes
    #: The checksum the client vouches for; empty sends none.
    sha256: str = ""


def png_image(seed: int = 0) -> Image:
    data = make_png(seed=seed)
    return Image(f"photo-{seed}.png", "image/png", data, sha256_hex(data))


def image_requests(
    product_id: str, images: Iterable[Image], chunk_size: int = 1000
) -> Iterator[image_pb2.ImageRequest]:
    """Metadata, then its chunks, for each image in turn."""
    for image in images:
        metadata = image_pb2.ImageMetadata(
            product_id=product_id,
            filename=image.filename,
            content_type=image.content_type,
            sha256=image.sha256,
        )
        yield image_pb2.ImageRequest(metadata=metadata)
        for offset in range(0, len(image.data), chunk_size):
            yield image_pb2.ImageRequest(chunk=image.data[offset : offset + chunk_size])


def upload(stub, product_id: str, *images: Image) -> image_pb2.UploadResponse:
    return stub.UploadProductImages(image_requests(product_id, images))


def assert_uploaded(uploaded: image_pb2.UploadedImage, product_id: str, image: Image) -> None:
    assert uploaded.image_id
    assert uploaded.product_id == product_id
    assert uploaded.filename == image.filename
    assert uploaded.content_type == image.content_type
    assert uploaded.size_bytes == len(image.data)
    assert uploaded.sha256 == sha256_hex(image.data)


def test_upload_one_png_in_chunks(stub):
    product = create_product(stub)
    image = png_image()
    assert len(image.data) > 3000  # several chunks

    response = upload(stub, product.id, image)

    assert len(response.images) == 1
    assert_uploaded(response.images[0], product.id, image)
    assert response.total_bytes == len(image.data)
    assert list(get_product(stub, product.id).image_ids) == [response.images[0].image_id]


def test_upload_two_images_in_one_stream(stub):
    product = create_product(stub)
    png = png_image(seed=1)
    gif = Image("anim.gif", "image/gif", GIF)  # no checksum: it is optional

    response = upload(stub, product.id, png, gif)

    assert len(response.images) == 2
    assert_uploaded(response.images[0], product.id, png)
    assert_uploaded(response.images[1], product.id, gif)
    assert response.total_bytes == len(png.data) + len(GIF)
    assert list(get_product(stub, product.id).image_ids) == [
        response.images[0].image_id,
        response.images[1].image_id,
    ]


def _chunk_before_metadata(product_id: str) -> Iterator[image_pb2.ImageRequest]:
    yield image_pb2.ImageRequest(chunk=make_png()[:100])
    yield from image_requests(product_id, [png_image()])


@pytest.mark.parametrize(
    ("requests", "violation"),
    [
        (_chunk_before_metadata, "chunk"),
        (
            lambda pid: image_requests(pid, [Image("fake.png", "image/png", JPEG)]),
            "metadata.content_type",
        ),
        (
            lambda pid: image_requests(pid, [Image("fake.png", "image/png", TEXT)]),
            "metadata.content_type",
        ),
        (
            lambda pid: image_requests(pid, [Image("notes.txt", "text/plain", TEXT)]),
            "metadata.content_type",
        ),
        (
            lambda pid: image_requests(pid, [png_image()._replace(sha256=sha256_hex(b"other"))]),
            "metadata.sha256",
        ),
        (
            # A failure in the second image undoes the whole stream, the first image too.
            lambda pid: image_requests(
                pid, [png_image(), Image("anim.gif", "image/gif", GIF, sha256_hex(b"other"))]
            ),
            "metadata.sha256",
        ),
    ],
    ids=[
        "chunk-before-metadata",
        "jpeg-declared-png",
        "text-declared-png",
        "unsupported-content-type",
        "wrong-sha256",
        "second-image-wrong-sha256",
    ],
)
def test_failed_upload_is_invalid_and_leaves_images_unchanged(
    stub, assert_serving, requests, violation
):
    product = create_product(stub)
    before = upload(stub, product.id, png_image(seed=2)).images[0].image_id

    with raises_rpc(Code.INVALID_ARGUMENT, field=violation):
        stub.UploadProductImages(requests(product.id))

    assert list(get_product(stub, product.id).image_ids) == [before]
    assert_serving()


def test_upload_to_unknown_product_is_not_found(stub, assert_serving):
    with raises_rpc(Code.NOT_FOUND):
        upload(stub, UNKNOWN_ID, png_image())
    assert_serving()


# --------------------------------------------------------------------------------------
# Chat
# --------------------------------------------------------------------------------------

#: Seconds a Chat stream may live; each test's streams last far less.
CHAT_DEADLINE = 30.0


class ChatSession(StreamReader):
    """One Chat stream: `send` writes from the test's thread; a thread reads into a queue."""

    def __init__(self, stub) -> None:
        self._outgoing: queue.Queue = queue.Queue()
        self._stub = stub
        self.call = None

    def _start(self, sender: str) -> None:
        """Opens the stream. The server names a member by its token, so a JOIN's sender asks
        the suite's channel to send that user's token (`CHAT_AS_KEY`)."""
        metadata = ((CHAT_AS_KEY, sender),) if sender else ()
        call = self._stub.Chat(
            iter(self._outgoing.get, STREAM_END), timeout=CHAT_DEADLINE, metadata=metadata
        )
        super().__init__(call)

    def __exit__(self, *exc_info) -> None:
        self.finish()
        super().__exit__(*exc_info)

    def send(self, kind: int, room: str = "", sender: str = "", text: str = "") -> None:
        if self.call is None:
            self._start(sender if kind == ChatMessage.JOIN else "")
        self._outgoing.put(ChatMessage(kind=kind, room=room, sender=sender, text=text))

    def join(self, room: str, sender: str) -> None:
        self.send(ChatMessage.JOIN, room=room, sender=sender)

    def say(self, room: str, text: str, sender: str = "") -> None:
        self.send(ChatMessage.MESSAGE, room=room, sender=sender, text=text)

    def finish(self) -> None:
        """Half-closes the stream: the client sends nothing more."""
        if self.call is None:
            self._start("")
        self._outgoing.put(STREAM_END)

    def _next(self):
        try:
            return self._incoming.get(timeout=READ_TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no Chat message within {READ_TIMEOUT:.0f} s")

    def receive_until(self, predicate: Callable[[ChatMessage], bool]) -> list[ChatMessage]:
        """Every message up to and including the first that satisfies `predicate`."""
        received = []
        while True:
            item = self._next()
            if isinstance(item, grpc.RpcError):
                pytest.fail(f"Chat stream failed after {received}: {item.code()} {item.details()}")
            if item is STREAM_END:
                pytest.fail(f"Chat stream ended after {received}")
            received.append(item)
            if predicate(item):
                return received

    def receive_messages(self, count: int) -> list[ChatMessage]:
        """The next `count` MESSAGE events, skipping JOIN, LEAVE and SYSTEM events."""
        messages: list[ChatMessage] = []

        def enough(message: ChatMessage) -> bool:
            if message.kind == ChatMessage.MESSAGE:
                messages.append(message)
            return len(messages) == count

        self.receive_until(enough)
        return messages

    def join_and_wait(self, room: str, sender: str) -> list[ChatMessage]:
        """JOINs and returns what arrived up to and including the member's own JOIN event."""
        self.join(room, sender)
        return self.receive_until(is_join_of(sender))

    def drain(self) -> list[ChatMessage]:
        """Reads to the end of the stream; raises its RpcError when it failed."""
        received = []
        while True:
            item = self._next()
            if isinstance(item, grpc.RpcError):
                raise item
            if item is STREAM_END:
                return received
            received.append(item)


def is_join_of(sender: str) -> Callable[[ChatMessage], bool]:
    return lambda message: message.kind == ChatMessage.JOIN and message.sender == sender


def summary(messages: Iterable[ChatMessage]) -> list[tuple[int, str, str]]:
    return [(message.sequence, message.sender, message.text) for message in messages]


def test_chat_relays_every_message_to_every_member_in_one_order(stub):
    room = create_product(stub).id
    with ChatSession(stub) as alice, ChatSession(stub) as bob:
        alice_join = alice.join_and_wait(room, "alice")[-1]
        bob_join = bob.join_and_wait(room, "bob")[-1]
        assert alice.receive_until(is_join_of("bob"))[-1] == bob_join
        assert bob_join.sequence > alice_join.sequence > 0

        said = [
            (alice, "alice", "Hello from Alice"),
            (bob, "bob", "Hello from Bob"),
            (alice, "alice", "Is it in stock?"),
            (bob, "bob", "Three left."),
        ]
        for member, _, text in said:
            member.say(room, text)
        seen_by_alice = alice.receive_messages(len(said))
        seen_by_bob = bob.receive_messages(len(said))

    assert summary(seen_by_alice) == summary(seen_by_bob)
    sequences = [message.sequence for message in seen_by_alice]
    assert sequences == sorted(set(sequences)) and sequences[0] > bob_join.sequence
    assert sorted((m.sender, m.text) for m in seen_by_alice) == sorted((s, t) for _, s, t in said)
    for name in ("alice", "bob"):  # each member's messages keep the order they were sent in
        assert [m.text for m in seen_by_alice if m.sender == name] == [
            t for _, s, t in said if s == name
        ]
    for message in seen_by_alice:
        assert message.room == room
        assert nanos(message.sent_time) > 0


def test_chat_sender_is_the_name_given_at_join(stub):
    room = create_product(stub).id
    with ChatSession(stub) as bob:
        bob.join_and_wait(room, "bob")
        bob.say(room, "I am someone else", sender="mallory")
        [message] = bob.receive_messages(1)
    assert (message.sender, message.text) == ("bob", "I am someone else")


def test_chat_late_joiner_gets_history_before_live_messages(stub):
    room = create_product(stub).id
    with ChatSession(stub) as alice, ChatSession(stub) as carol:
        alice.join_and_wait(room, "alice")
        for text in ("first", "second", "third"):
            alice.say(room, text)
        earlier = alice.receive_messages(3)

        before_own_join = carol.join_and_wait(room, "carol")
        history = [m for m in before_own_join[:-1] if m.kind == ChatMessage.MESSAGE]
        assert summary(history) == summary(earlier)

        alice.say(room, "live")
        [live] = carol.receive_messages(1)
    assert (live.sender, live.text) == ("alice", "live")
    assert live.sequence > before_own_join[-1].sequence


def test_chat_member_leaving_is_announced(stub):
    room = create_product(stub).id
    with ChatSession(stub) as alice, ChatSession(stub) as bob:
        alice.join_and_wait(room, "alice")
        bob.join_and_wait(room, "bob")
        bob.send(ChatMessage.LEAVE, room=room)
        bob.finish()

        bob.drain()  # ends without error
        left = alice.receive_until(lambda m: m.kind == ChatMessage.LEAVE)[-1]
    assert left.sender == "bob"


class FollowSession(ChatSession):
    """One FollowChat stream (chat for a client that cannot stream both ways), read as a Chat
    stream is; what its member says goes through SendChatMessage."""

    def follow(self, room: str, sender: str) -> list[ChatMessage]:
        """Follows `room` as `sender`; what arrived up to and including the member's JOIN."""
        self.sender = sender
        call = self._stub.FollowChat(
            chat_pb2.FollowChatRequest(room=room),
            timeout=CHAT_DEADLINE,
            metadata=((CHAT_AS_KEY, sender),),
        )
        StreamReader.__init__(self, call)
        return self.receive_until(is_join_of(sender))

    def say(self, room: str, text: str, sender: str = "") -> None:
        send_chat_message(self._stub, room, text, sender or self.sender)

    def finish(self) -> None:
        if self.call is not None:
            self.call.cancel()


def send_chat_message(stub, room: str, text: str, sender: str) -> None:
    stub.SendChatMessage(
        chat_pb2.SendChatMessageRequest(room=room, text=text),
        timeout=RPC_TIMEOUT,
        metadata=((CHAT_AS_KEY, sender),),
    )


def test_follow_chat_and_send_chat_message_share_a_room_with_chat_members(stub):
    room = create_product(stub).id
    with raises_rpc(Code.FAILED_PRECONDITION):  # speaking needs a follow of the room
        send_chat_message(stub, room, "too early", "py-follower")
    with FollowSession(stub) as follower, ChatSession(stub) as member:
        joined = follower.follow(room, "py-follower")
        assert [m.kind for m in joined] == [ChatMessage.JOIN]
        member.join_and_wait(room, "py-member")
        follower.receive_until(is_join_of("py-member"))

        follower.say(room, "Is it in stock?")
        member.say(room, "Three left.")
        follower.say(room, "Thanks")
        seen_by_follower = follower.receive_messages(3)
        seen_by_member = member.receive_messages(3)
        # One order for both (the member's message may land anywhere: its stream is not
        # the follower's calls); the follower's two keep the order they were sent in.
        assert summary(seen_by_follower) == summary(seen_by_member)
        assert sorted((m.sender, m.text) for m in seen_by_follower) == [
            ("py-follower", "Is it in stock?"),
            ("py-follower", "Thanks"),
            ("py-member", "Three left."),
        ]
        assert [m.text for m in seen_by_follower if m.sender == "py-follower"] == [
            "Is it in stock?",
            "Thanks",
        ]

        # Ending the FollowChat call leaves the room, announced to the others.
        follower.cancel()
        left = member.receive_until(lambda m: m.kind == ChatMessage.LEAVE)[-1]
        assert left.sender == "py-follower"
    with raises_rpc(Code.FAILED_PRECONDITION):
        send_chat_message(stub, room, "gone", "py-follower")


def test_follow_chat_refuses_bad_rooms_and_send_chat_message_bad_text(stub, assert_serving):
    room = create_product(stub).id
    cases = (("", Code.INVALID_ARGUMENT, "room"), (UNKNOWN_ID, Code.NOT_FOUND, None))
    for bad_room, code, field in cases:
        call = stub.FollowChat(chat_pb2.FollowChatRequest(room=bad_room), timeout=RPC_TIMEOUT)
        with raises_rpc(code, field):
            next(call)
    with FollowSession(stub) as follower:
        follower.follow(room, "py-follower")
        for text in ("", "x" * 2_001, "bell\x07"):
            with raises_rpc(Code.INVALID_ARGUMENT, "text"):
                follower.say(room, text)
    assert_serving()


def test_chat_first_message_must_be_join(stub, assert_serving):
    room = create_product(stub).id
    with ChatSession(stub) as session:
        session.say(room, "hello?", sender="alice")
        with raises_rpc(Code.INVALID_ARGUMENT, field="kind"):
            session.drain()
    assert_serving()


def test_chat_join_to_unknown_room_is_not_found(stub, assert_serving):
    with ChatSession(stub) as session:
        session.join(UNKNOWN_ID, "alice")
        with raises_rpc(Code.NOT_FOUND):
            session.drain()
    assert_serving()


def test_chat_text_longer_than_2000_characters_is_invalid(stub, assert_serving):
    room = create_product(stub).id
    with ChatSession(stub) as session:
        session.join_and_wait(room, "alice")
        session.say(room, "x" * 2000)
        [longest] = session.receive_messages(1)
        assert len(longest.text) == 2000

        session.say(room, "x" * 2001)
        with raises_rpc(Code.INVALID_ARGUMENT, field="text"):
            session.drain()
    assert_serving()


# --------------------------------------------------------------------------------------
# The process
# --------------------------------------------------------------------------------------


def test_server_exits_cleanly_on_sigterm(tmp_path):
    with running_server(tmp_path) as process:
        channel = grpc.insecure_channel(f"127.0.0.1:{process.port}")
        grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT)
        channel.close()
        exit_code = process.stop()
    assert exit_code == 0, f"exit code {exit_code} after SIGTERM. Output:\n{process.output()}"
