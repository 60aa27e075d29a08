"""The web storefront page (Sources/storefront/Web) in a real browser.

Headless Chromium from Debian (`chromium`, `chromium-driver`) driven by Selenium, against a
server with the demo catalogue that serves the page from the source tree (`--web-root`):
listing and filters, a product with its image, a price change made by another client arriving
live, two browsers chatting, and who may create products. Other clients (grpcio) set up and
change data beside the browser. Screenshots of the main pages go to
test-artifacts/screenshots/NAME.png. The page speaks Connect over HTTP/1.1, which only the
Storefront transport serves: the suite is skipped on `STOREFRONT_TRANSPORT=nio`.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    REPO_ROOT,
    STOCK_TRANSPORT,
    TEST_PASSWORD,
    Server,
    add_user,
    authorized_channel,
    connected_server,
    login,
)
from storefront.v1 import (
    image_pb2,
    product_pb2,
    product_service_pb2,
    product_service_pb2_grpc,
)

pytestmark = pytest.mark.skipif(
    STOCK_TRANSPORT,
    reason="the page speaks Connect over HTTP/1.1, which only the Storefront transport serves",
)

selenium = pytest.importorskip("selenium", reason="pip package selenium (Tests/python/requirements.txt)")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WEB_ROOT = REPO_ROOT / "Sources" / "storefront" / "Web"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("STOREFRONT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("STOREFRONT_CHROMEDRIVER", "/usr/bin/chromedriver")
#: Products in the demo catalogue of the suite's server.
DEMO_PRODUCTS = 60
#: Products per page of the page's listing (app.js PAGE_SIZE).
PAGE_SIZE = 24
#: Seconds to wait for the page to show something.
WAIT = 10.0
#: Seconds a change made by another client may take to show on the page. The issue asks for
#: "within a second"; the bound is looser so that a loaded CI machine does not flake, and the
#: measured delay is printed.
LIVE_BOUND = 5.0

STAFF = "web-staff"
SHOPPER = "web-shopper"


def _require_browser() -> None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(
                f"{path} is missing: install Debian's chromium and chromium-driver "
                "(.ci/run does)",
                pytrace=False,
            )


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the demo catalogue, serving the page from the source tree."""
    data_dir = tmp_path_factory.mktemp("storefront-web-data")
    data_dir.mkdir(parents=True, exist_ok=True)
    for username, role in ((STAFF, "staff"), (SHOPPER, "shopper")):
        add_user(data_dir, username, role)
    with connected_server(
        data_dir, "--demo-catalog", str(DEMO_PRODUCTS), "--web-root", str(WEB_ROOT)
    ) as server:
        yield server


@pytest.fixture(scope="module")
def stub(web: Server):
    return product_service_pb2_grpc.ProductServiceStub(web.channel)


def base_url(server: Server) -> str:
    return f"http://{server.address}"


def new_driver(phone: bool = False) -> webdriver.Chrome:
    _require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--no-first-run", "--lang=en-US"):
        options.add_argument(argument)
    if phone:
        options.add_experimental_option(
            "mobileEmulation",
            {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0, "touch": True}},
        )
    else:
        options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A given driver path: Selenium Manager downloads nothing.
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def browsers(request: pytest.FixtureRequest) -> Iterator:
    """A factory of browsers (`browsers()`, `browsers(phone=True)`), all closed at the end;
    a failed test keeps a screenshot of each and prints its console."""
    opened: list[webdriver.Chrome] = []
    failures_before = request.session.testsfailed

    def open_browser(phone: bool = False) -> webdriver.Chrome:
        driver = new_driver(phone)
        opened.append(driver)
        return driver

    yield open_browser
    failed = request.session.testsfailed > failures_before
    for index, driver in enumerate(opened):
        try:
            if failed:
                screenshot(driver, f"failed-{request.node.name}-{index}")
                for entry in driver.get_log("browser"):
                    print("browser console:", entry)
        finally:
            driver.quit()


def screenshot(driver: webdriver.Chrome, name: str, show: str | None = None) -> Path:
    """Saves test-artifacts/screenshots/NAME.png, with element `show` (an id) scrolled into
    view, once the cards' entry animation has played."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if show:
        driver.execute_script(
            "document.getElementById(arguments[0]).scrollIntoView({block: 'center'})", show
        )
    time.sleep(0.4)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


# --------------------------------------------------------------------------------------
# Page helpers
# --------------------------------------------------------------------------------------


def wait_for(driver, condition, message: str, timeout: float = WAIT):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition())
    except TimeoutException:
        pytest.fail(f"{message} (waited {timeout:.0f} s); page: {page_state(driver)}")


def page_state(driver) -> str:
    return driver.execute_script(
        "const t = (id) => { const e = document.getElementById(id); return e && !e.hidden ? e.textContent.trim() : null; };"
        "return JSON.stringify({hash: location.hash, live: t('live-status'), status: t('catalogue-status'),"
        "banner: t('banner'), productError: t('product-error'), editorError: t('editor-error'),"
        "chatError: t('chat-error'), chatState: t('chat-state'),"
        "cards: document.querySelectorAll('[data-testid=product-card]').length});"
    )


def by_id(driver, element_id: str):
    return driver.find_element(By.ID, element_id)


def visible_text(driver, element_id: str) -> str | None:
    element = driver.find_elements(By.ID, element_id)
    if not element or not element[0].is_displayed():
        return None
    return element[0].text


def open_page(driver, server: Server, fragment: str = "#/") -> None:
    driver.get(base_url(server) + "/" + fragment)


def cards(driver) -> list[dict]:
    return driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=product-card]')].map(c => ({"
        "id: c.dataset.productId,"
        "name: c.querySelector('[data-testid=card-name]').textContent,"
        "category: c.querySelector('[data-testid=card-category]').textContent,"
        "priceCents: Number(c.querySelector('[data-testid=card-price]').dataset.priceCents),"
        "price: c.querySelector('[data-testid=card-price]').textContent,"
        "stock: c.querySelector('[data-testid=card-stock]').textContent}));"
    )


def wait_listing_done(driver) -> list[dict]:
    """The cards once the listing of the page's current route has finished."""
    element = by_id(driver, "catalogue-status")
    status = lambda: element.get_attribute("data-state")  # noqa: E731

    def finished() -> bool:
        route = driver.execute_script("return location.hash || '#/'")
        return element.get_attribute("data-route") == route and status() in ("done", "error")

    wait_for(driver, finished, "the listing did not finish")
    assert status() == "done", f"the listing failed: {page_state(driver)}"
    return cards(driver)


def wait_live(driver) -> None:
    wait_for(
        driver,
        lambda: by_id(driver, "live-status").get_attribute("data-state") == "live",
        "the page's WatchProducts stream did not start",
    )


def sign_in(driver, username: str, password: str = TEST_PASSWORD) -> None:
    by_id(driver, "sign-in-button").click()
    wait_for(driver, lambda: by_id(driver, "sign-in-username").is_displayed(), "no sign-in dialog")
    by_id(driver, "sign-in-username").send_keys(username)
    by_id(driver, "sign-in-password").send_keys(password)
    by_id(driver, "sign-in-submit").click()
    wait_for(
        driver,
        lambda: visible_text(driver, "session-user") is not None,
        f"{username} was not shown as signed in; sign-in error: "
        f"{visible_text(driver, 'sign-in-error')}",
    )


def call_from_page(driver, method: str, request: dict) -> dict:
    """A unary call with the page's own Connect client and token: {ok, code, message}."""
    return driver.execute_async_script(
        "const [method, request, done] = arguments;"
        "window.storefront.client.unary(method, request)"
        ".then(r => done({ok: true, response: r}))"
        ".catch(e => done({ok: false, code: e.code, message: e.message}));",
        method,
        request,
    )


def price_text(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def list_products(stub, **filters) -> list:
    request = product_service_pb2.ProductRequest(**filters)
    return [response.product for response in stub.ListProducts(request)]


def make_png(width: int = 320, height: int = 240) -> bytes:
    """A PNG of a colour gradient with a dark disc: something a screenshot shows plainly."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2
            rows += bytes((40, 60, 90) if inside else (30 + 200 * x // width, 120, 60 + 180 * y // height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")


def upload_png(stub, product_id: str, data: bytes) -> str:
    def requests():
        yield image_pb2.ImageRequest(
            metadata=image_pb2.ImageMetadata(
                product_id=product_id, filename="gradient.png", content_type="image/png"
            )
        )
        for at in range(0, len(data), 16 * 1024):
            yield image_pb2.ImageRequest(chunk=data[at : at + 16 * 1024])

    return stub.UploadProductImages(requests()).images[0].image_id


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def test_the_page_lists_the_demo_catalogue_and_loads_more(web, stub, browsers):
    expected = list_products(stub, page_size=2 * PAGE_SIZE)
    driver = browsers()
    open_page(driver, web)
    shown = wait_listing_done(driver)
    assert [card["id"] for card in shown] == [p.id for p in expected[:PAGE_SIZE]]
    first = shown[0]
    assert first["name"] == expected[0].name
    assert first["price"] == price_text(expected[0].price_cents)
    assert first["category"] == expected[0].category
    assert by_id(driver, "load-more").is_displayed()
    wait_live(driver)
    screenshot(driver, "catalogue")

    by_id(driver, "load-more").click()
    wait_for(driver, lambda: len(cards(driver)) == 2 * PAGE_SIZE, "Load more added no page")
    shown = wait_listing_done(driver)
    assert [card["id"] for card in shown] == [p.id for p in expected]

    phone = browsers(phone=True)
    open_page(phone, web)
    wait_listing_done(phone)
    width = phone.execute_script("return document.documentElement.scrollWidth")
    viewport = phone.execute_script("return window.innerWidth")
    assert width <= viewport, f"the phone layout scrolls sideways ({width} > {viewport} px)"
    screenshot(phone, "catalogue-phone")


def test_filters_narrow_the_listing(web, stub, browsers):
    driver = browsers()
    open_page(driver, web)
    wait_listing_done(driver)

    by_id(driver, "filter-category").send_keys("kitchen")
    by_id(driver, "filter-min-price").send_keys("20")
    by_id(driver, "filter-max-price").send_keys("150")
    by_id(driver, "filter-apply").click()
    wait_for(driver, lambda: "category=kitchen" in driver.current_url, "the filters did not apply")
    shown = wait_listing_done(driver)
    expected = list_products(
        stub, category="kitchen", min_price_cents=2000, max_price_cents=15000, page_size=PAGE_SIZE
    )
    assert expected, "the demo catalogue has kitchen products between $20 and $150"
    assert [card["id"] for card in shown] == [p.id for p in expected]
    assert all(card["category"] == "kitchen" for card in shown)
    assert all(2000 <= card["priceCents"] <= 15000 for card in shown)
    screenshot(driver, "catalogue-filtered")

    by_id(driver, "filter-clear").click()
    by_id(driver, "filter-query").send_keys("kettle")
    by_id(driver, "filter-apply").click()
    wait_for(driver, lambda: "q=kettle" in driver.current_url, "the search did not apply")
    shown = wait_listing_done(driver)
    expected = list_products(stub, query="kettle", page_size=PAGE_SIZE)
    assert [card["id"] for card in shown] == [p.id for p in expected]
    assert shown and all("kettle" in card["name"].lower() for card in shown)

    by_id(driver, "filter-query").clear()
    by_id(driver, "filter-query").send_keys("no-such-product-anywhere")
    by_id(driver, "filter-apply").click()
    wait_for(driver, lambda: by_id(driver, "catalogue-empty").is_displayed(), "no empty-result notice")


def test_a_product_page_shows_its_image(web, stub, browsers):
    product = list_products(stub, category="garden", page_size=1)[0]
    png = make_png()
    image_id = upload_png(stub, product.id, png)
    driver = browsers()
    open_page(driver, web, f"#/product/{product.id}")
    wait_for(
        driver,
        lambda: by_id(driver, "product-image").get_attribute("data-image-id") == image_id
        and driver.execute_script("return document.getElementById('product-image').naturalWidth") == 320,
        "the product's image was not shown",
    )
    assert by_id(driver, "product-name").text == product.name
    assert by_id(driver, "product-price").text == price_text(product.price_cents)
    assert by_id(driver, "product-sku").text == product.sku
    # The bytes the page assembled from the download are the uploaded ones.
    size = driver.execute_async_script(
        "const done = arguments[0];"
        "fetch(document.getElementById('product-image').src).then(r => r.arrayBuffer()).then(b => done(b.byteLength));"
    )
    assert size == len(png)
    screenshot(driver, "product")

    # The catalogue's card shows the image too.
    open_page(driver, web, f"#/?category=garden")
    wait_listing_done(driver)
    wait_for(
        driver,
        lambda: driver.execute_script(
            "const c = document.querySelector(`[data-product-id='${arguments[0]}'] .card-media img`);"
            "return !!c && c.naturalWidth === 320;",
            product.id,
        ),
        "the card shows no image",
    )


def test_a_price_change_by_another_client_appears_live(web, stub, browsers):
    product = list_products(stub, category="toys", page_size=1)[0]
    driver = browsers()
    open_page(driver, web, f"#/product/{product.id}")
    wait_for(driver, lambda: by_id(driver, "product-price").text == price_text(product.price_cents),
             "the product page did not load")
    wait_live(driver)

    new_price = product.price_cents + 1234
    started = time.monotonic()
    stub.UpdateProduct(
        product_service_pb2.UpdateProductRequest(
            product=product_pb2.Product(id=product.id, price_cents=new_price),
            update_mask={"paths": ["price_cents"]},
        )
    )
    wait_for(
        driver,
        lambda: by_id(driver, "product-price").text == price_text(new_price),
        "the new price did not appear on the product page",
        timeout=LIVE_BOUND,
    )
    delay = time.monotonic() - started
    print(f"price change on the product page after {delay * 1000:.0f} ms")

    # The catalogue's cards change in place, stock too.
    open_page(driver, web, "#/?category=toys")
    wait_listing_done(driver)
    wait_live(driver)
    started = time.monotonic()
    stub.UpdateProduct(
        product_service_pb2.UpdateProductRequest(
            product=product_pb2.Product(id=product.id, stock=0, price_cents=new_price + 1),
            update_mask={"paths": ["stock", "price_cents"]},
        )
    )

    def card_changed() -> bool:
        card = next(c for c in cards(driver) if c["id"] == product.id)
        return card["stock"] == "Out of stock" and card["price"] == price_text(new_price + 1)

    wait_for(driver, card_changed, "the card did not change in place", timeout=LIVE_BOUND)
    print(f"price and stock change on the card after {(time.monotonic() - started) * 1000:.0f} ms")


def _chat_available(server: Server, token: str, room: str) -> bool:
    """Whether the server has SendChatMessage (the browsers' chat RPCs)."""
    request = urllib.request.Request(
        base_url(server) + "/storefront.v1.ProductService/SendChatMessage",
        # An empty text: INVALID_ARGUMENT where the RPC exists, and nothing is said.
        data=json.dumps({"room": room, "text": ""}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            code = json.loads(body).get("code")
        except ValueError:
            code = None
        return not (error.code in (404, 501) or code == "unimplemented")


def test_two_browsers_chat_in_one_room(web, stub, browsers):
    product = list_products(stub, category="books", page_size=1)[0]
    if not _chat_available(web, web.token, product.id):
        pytest.skip("the server has no FollowChat/SendChatMessage yet (the browsers' chat RPCs)")
    alice, bob = browsers(), browsers()
    for driver, name in ((alice, "web-alice"), (bob, "web-bob")):
        web.token_for(name)  # adds the shopper
        open_page(driver, web, f"#/product/{product.id}")
        sign_in(driver, name)
        wait_for(
            driver,
            lambda: by_id(driver, "chat").get_attribute("data-state") == "connected",
            f"{name} did not join the chat",
        )

    def say(driver, text: str) -> None:
        field = by_id(driver, "chat-input")
        field.send_keys(text)
        by_id(driver, "chat-send").click()
        wait_for(driver, lambda: field.get_attribute("value") == "",
                 f"the message {text!r} was not sent: {visible_text(driver, 'chat-error')}")

    lines = [(alice, "web-alice", "Is this book signed?"), (bob, "web-bob", "Mine was!"),
             (alice, "web-alice", "Thanks, ordering one.")]
    for driver, _, text in lines:
        say(driver, text)

    def transcript(driver) -> list[tuple[str, str]]:
        return [tuple(pair) for pair in driver.execute_script(
            "return [...document.querySelectorAll('[data-testid=chat-message][data-kind=MESSAGE]')]"
            ".map(m => [m.dataset.sender, m.querySelector('[data-testid=chat-text]').textContent]);"
        )]

    said = [(name, text) for _, name, text in lines]
    for driver in (alice, bob):
        wait_for(driver, lambda: [m for m in transcript(driver) if m in said] == said,
                 f"the chat did not show the three messages in order: {transcript(driver)}")
    assert transcript(alice) == transcript(bob)
    screenshot(alice, "chat", show="chat")


def test_a_shopper_cannot_create_a_product(web, browsers):
    driver = browsers()
    open_page(driver, web)
    sign_in(driver, SHOPPER)
    assert by_id(driver, "session-user").text.lower().split() == [SHOPPER, "shopper"]
    assert not by_id(driver, "nav-new-product").is_displayed()
    open_page(driver, web, "#/new")
    wait_for(driver, lambda: visible_text(driver, "editor-denied") is not None, "no refusal shown")
    assert "Only staff can add products" in by_id(driver, "editor-denied").text
    assert not by_id(driver, "editor-form").is_displayed()
    screenshot(driver, "editor-shopper")
    # The server refuses too, whatever the page shows.
    answer = call_from_page(
        driver,
        "storefront.v1.ProductService/CreateProduct",
        {"product": {"sku": "WEB-SHOPPER-1", "name": "Not allowed", "priceCents": "100", "currency": "USD"}},
    )
    assert answer["ok"] is False and answer["code"] == "permission_denied", answer


def test_staff_create_and_edit_a_product_with_conflicts_shown(web, stub, browsers):
    driver = browsers()
    open_page(driver, web)
    sign_in(driver, STAFF)
    assert by_id(driver, "session-user").text.lower().split() == [STAFF, "staff"]
    by_id(driver, "nav-new-product").click()
    wait_for(driver, lambda: by_id(driver, "editor-form").is_displayed(), "no editor")
    sku = f"WEB-{int(time.time() * 1000)}"
    fields = {"edit-name": "Enamel Teapot", "edit-sku": sku, "edit-category": "kitchen",
              "edit-price": "-5", "edit-stock": "12",
              "edit-description": "A blue enamel teapot for four cups."}
    for element_id, value in fields.items():
        by_id(driver, element_id).clear()
        by_id(driver, element_id).send_keys(value)
    # A negative price: the server's field violation is shown beside the price.
    by_id(driver, "editor-submit").click()
    wait_for(driver, lambda: visible_text(driver, "error-price"), "no violation shown beside the price")
    screenshot(driver, "editor-violation", show="error-price")
    by_id(driver, "edit-price").clear()
    by_id(driver, "edit-price").send_keys("34.50")
    screenshot(driver, "editor-new")
    by_id(driver, "editor-submit").click()
    wait_for(driver, lambda: "#/product/" in driver.current_url and by_id(driver, "product-name").text == "Enamel Teapot",
             "the created product was not shown")
    product_id = driver.current_url.split("#/product/")[1]
    created = stub.GetProduct(product_service_pb2.ProductRequest(id=product_id)).product
    assert (created.sku, created.price_cents, created.stock, created.category) == (sku, 3450, 12, "kitchen")

    # Upload an image from the page, with its progress bar.
    png_path = SCREENSHOTS.parent / "upload-gradient.png"
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(make_png())
    by_id(driver, "upload-files").send_keys(str(png_path))
    by_id(driver, "upload-button").click()
    wait_for(driver, lambda: (visible_text(driver, "upload-status") or "").startswith("Uploaded 1 image"),
             "the upload did not finish")
    assert by_id(driver, "upload-progress").get_attribute("value") == "100"
    wait_for(driver, lambda: driver.execute_script("return document.getElementById('product-image').naturalWidth") == 320,
             "the uploaded image is not shown")
    assert len(stub.GetProduct(product_service_pb2.ProductRequest(id=product_id)).product.image_ids) == 1
    screenshot(driver, "product-staff", show="upload-status")

    # Edit; someone else writes meanwhile: the page says so and reloads on request.
    by_id(driver, "edit-product").click()
    wait_for(driver, lambda: by_id(driver, "edit-name").get_attribute("value") == "Enamel Teapot", "no edit form")
    stub.UpdateProduct(
        product_service_pb2.UpdateProductRequest(
            product=product_pb2.Product(id=product_id, stock=3), update_mask={"paths": ["stock"]}
        )
    )
    by_id(driver, "edit-price").clear()
    by_id(driver, "edit-price").send_keys("29.00")
    by_id(driver, "editor-submit").click()
    wait_for(driver, lambda: visible_text(driver, "editor-error"), "no conflict shown")
    assert "someone changed this product meanwhile" in by_id(driver, "editor-error").text.lower()
    screenshot(driver, "editor-conflict", show="editor-error")
    by_id(driver, "editor-reload").click()
    wait_for(driver, lambda: by_id(driver, "edit-stock").get_attribute("value") == "3", "the reload did not show the other write")
    by_id(driver, "edit-price").clear()
    by_id(driver, "edit-price").send_keys("29.00")
    by_id(driver, "editor-submit").click()
    wait_for(driver, lambda: "#/product/" in driver.current_url and by_id(driver, "product-price").text == "$29.00",
             "the edit was not saved")
    saved = stub.GetProduct(product_service_pb2.ProductRequest(id=product_id)).product
    assert (saved.price_cents, saved.stock) == (2900, 3)
