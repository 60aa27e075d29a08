"""The `storefront` client subcommands as a person or a script runs them: the built binary as a
subprocess against a real server. What they print, how they fail and how they exit."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (
    REPO_ROOT,
    TEST_HASH_COST,
    create_product,
    product_pb2,
    product_service_pb2,
    product_service_pb2_grpc,
    server_binary,
    unique_category,
    unique_sku,
)
from storefront.v1 import import_pb2  # noqa: E402  (generated when conftest loads)


def cli(server, *args: str, token: str | None = None, stdin: str | None = None):
    """Runs `storefront ARGS --server ADDRESS` with the admin's token (or `token`), a config
    folder of its own and no saved token."""
    env = {
        **os.environ,
        "STOREFRONT_TOKEN": server.token if token is None else token,
        "XDG_CONFIG_HOME": "/nonexistent-storefront-config",
    }
    return subprocess.run(
        [server_binary(), *args, "--server", server.address],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def readme_csv() -> str:
    """The example `catalogue.csv` of the README's tour."""
    readme = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"```csv\n(.*?)```", readme, re.S)
    assert match, "the README shows no ```csv example"
    return match.group(1)


def stub(server):
    return product_service_pb2_grpc.ProductServiceStub(server.channel)


def listed(server, category: str) -> list:
    request = product_service_pb2.ProductRequest(category=category)
    return [response.product for response in stub(server).ListProducts(request)]


# --------------------------------------------------------------------------------------
# product import
# --------------------------------------------------------------------------------------


def test_the_readmes_csv_imports_as_shown_with_usd_by_default(server, tmp_path):
    text = readme_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and "currency" not in rows[0]
    # Fresh skus (the first column), so that the test can run again on the same catalogue.
    suffix = unique_sku()[3:11].upper()
    lines = text.splitlines(keepends=True)
    lines[1:] = [line.replace(",", f"-{suffix},", 1) for line in lines[1:]]
    path = tmp_path / "catalogue.csv"
    path.write_text("".join(lines))
    result = cli(server, "product", "import", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{len(rows)} created, 0 updated, 0 unchanged, 0 failed")
    products = [p for category in {row["category"] for row in rows} for p in listed(server, category)]
    mine = {p.sku: p for p in products if p.sku.endswith(suffix)}
    assert sorted(mine) == sorted(f"{row['sku']}-{suffix}" for row in rows)
    for row in rows:
        product = mine[f"{row['sku']}-{suffix}"]
        assert (product.name, product.price_cents, product.stock, product.currency) == (
            row["name"], int(row["price_cents"]), int(row["stock"]), "USD")


def test_import_takes_a_currency_for_rows_without_one(server, tmp_path):
    category = unique_category()
    path = tmp_path / "euros.csv"
    path.write_text(f"sku,name,price_cents,category,currency\n{unique_sku()},A,100,{category},\n"
                    f"{unique_sku()},B,100,{category},GBP\n")
    result = cli(server, "product", "import", str(path), "--currency", "EUR")
    assert result.returncode == 0, result.stderr
    assert sorted(p.currency for p in listed(server, category)) == ["EUR", "GBP"]


def test_import_exits_2_when_any_row_failed_and_says_so_in_help(server, tmp_path):
    category = unique_category()
    path = tmp_path / "mixed.csv"
    path.write_text(
        "sku,name,price_cents,category\n"
        f"{unique_sku()},Good,100,{category}\n"
        f"{unique_sku()},Unreadable,1.5,{category}\n"
        f"bad sku!,Refused,100,{category}\n"
    )
    result = cli(server, "product", "import", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "1 created, 0 updated, 0 unchanged, 2 failed" in result.stdout
    assert "line 3: price_cents '1.5' is not a whole number" in result.stdout
    assert "line 4 (sku bad sku!)" in result.stdout
    assert len(listed(server, category)) == 1

    as_json = cli(server, "product", "import", str(path), "--json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["failed"] == "1"  # the server's count; int64 as a string
    assert "line 3: price_cents '1.5'" in as_json.stderr

    help_text = subprocess.run([server_binary(), "product", "import", "--help"],
                               capture_output=True, text=True, timeout=60).stdout
    assert "2 when some rows failed" in " ".join(help_text.split())


def test_a_missing_file_says_it_does_not_exist(server, tmp_path):
    missing = tmp_path / "nowhere.csv"
    imported = cli(server, "product", "import", str(missing))
    assert imported.returncode == 1
    assert f"{missing} does not exist" in imported.stderr
    product = create_product(stub(server))
    uploaded = cli(server, "image", "upload", product.id, str(tmp_path / "nowhere.png"))
    assert uploaded.returncode == 1
    assert "nowhere.png does not exist" in uploaded.stderr


# --------------------------------------------------------------------------------------
# How failures read
# --------------------------------------------------------------------------------------


def test_status_codes_print_as_grpc_names(server):
    missing = cli(server, "product", "get", "p_doesnotexist")
    assert missing.returncode == 1
    assert "NOT_FOUND" in missing.stderr and "notFound" not in missing.stderr, missing.stderr
    invalid = cli(server, "product", "create", "--sku", unique_sku(), "--name", "X",
                  "--price-cents=-1")
    assert "INVALID_ARGUMENT" in invalid.stderr, invalid.stderr
    assert "product.price_cents" in invalid.stderr
    refused = cli(server, "product", "create", "--sku", unique_sku(), "--name", "X",
                  "--price-cents", "1", token="not-a-token")
    assert "UNAUTHENTICATED" in refused.stderr and "storefront login" in refused.stderr


def test_json_errors_are_one_object_on_stderr(server):
    result = cli(server, "product", "create", "--sku", unique_sku(), "--name", "X",
                 "--price-cents=-1", "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    error = json.loads(lines[0])
    assert error["code"] == "INVALID_ARGUMENT"
    assert "price_cents" in error["message"]
    assert "product.price_cents" in [v["field"] for v in error["fieldViolations"]]
    assert re.fullmatch(r"[\w-]+", error["requestId"]), error

    missing = json.loads(cli(server, "product", "get", "p_nothing", "--json").stderr)
    assert missing["code"] == "NOT_FOUND" and missing["fieldViolations"] == []


def test_json_prints_zero_and_empty_fields_and_int64_as_strings(server):
    result = cli(server, "product", "create", "--sku", unique_sku(), "--name", "Free",
                 "--price-cents", "0", "--json")
    assert result.returncode == 0, result.stderr
    product = json.loads(result.stdout)
    assert product["stock"] == 0
    assert product["priceCents"] == "0"
    assert product["description"] == "" and product["category"] == ""
    assert product["imageIds"] == []
    assert product["currency"] == "USD"


def test_a_wrong_port_says_what_to_do(server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "XDG_CONFIG_HOME": "/nonexistent-storefront-config"}
    result = subprocess.run(
        [server_binary(), "product", "get", "p_1", "--server", f"127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stderr
    assert f"Is the server running at 127.0.0.1:{port}?" in result.stderr, result.stderr
    assert "--server HOST:PORT" in result.stderr


@pytest.mark.parametrize(
    "args, usage",
    [
        (["product", "update", "p_1"], "storefront product update"),
        (["image", "upload", "p_1", "notes.txt"], "storefront image upload"),
        (["product", "import", "catalogue.xlsx"], "storefront product import"),
    ],
)
def test_usage_errors_show_the_subcommands_usage(server, args, usage):
    result = cli(server, *args)
    assert result.returncode == 64, result.stderr
    assert f"Usage: {usage}" in result.stderr, result.stderr
    assert f"See '{usage} --help'" in result.stderr


# --------------------------------------------------------------------------------------
# What the commands print
# --------------------------------------------------------------------------------------


def test_watch_prints_prices_as_get_does(server):
    product = create_product(stub(server), price_cents=777)
    got = cli(server, "product", "get", product.id)
    assert "7.77 USD" in got.stdout, got.stdout
    env = {**os.environ, "STOREFRONT_TOKEN": server.token}
    watch = subprocess.Popen(
        [server_binary(), "product", "watch", "--id", product.id, "--server", server.address],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        watch.stderr.readline()  # "watching after sequence N": the stream is open
        stub(server).UpdateProduct(product_service_pb2.UpdateProductRequest(
            product=product_pb2.Product(id=product.id, price_cents=1234),
            update_mask={"paths": ["price_cents"]},
        ))
        ready, _, _ = select.select([watch.stdout], [], [], 10)
        assert ready, "the watch printed nothing"
        line = watch.stdout.readline()
        assert "12.34 USD" in line and "cents" not in line, line
    finally:
        watch.terminate()
        watch.wait(timeout=10)


def test_chat_offers_no_name_option(server):
    help_text = subprocess.run([server_binary(), "chat", "--help"], capture_output=True,
                               text=True, timeout=60).stdout
    assert "--name" not in help_text
    assert "ROOM" in help_text.upper()


# --------------------------------------------------------------------------------------
# user add at a terminal
# --------------------------------------------------------------------------------------


def add_user_at_a_terminal(data_dir: Path, username: str, answers: list[str]) -> tuple[int, str]:
    """Runs `storefront user add` on a pseudo-terminal, typing each answer after a prompt;
    returns the exit code and everything the terminal showed."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        [server_binary(), "user", "add", username, "--role", "staff", "--hash-cost",
         TEST_HASH_COST, "--data-dir", str(data_dir)],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
    )
    os.close(slave)
    shown = b""

    def read(until: bytes | None) -> None:
        """Reads what the terminal shows next, up to `until` (None: until it closes). An
        answer goes only after its own prompt: getpass discards input typed before it."""
        nonlocal shown
        start = len(shown)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (until is None or not shown[start:].endswith(until)):
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(master, 1024)
            except OSError:  # the process closed the terminal
                return
            if not chunk:
                return
            shown += chunk

    try:
        for answer in answers:
            read(until=b": ")
            os.write(master, answer.encode() + b"\n")
        read(until=None)
        return process.wait(timeout=30), shown.decode(errors="replace")
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()


def test_user_add_at_a_prompt_asks_twice_and_refuses_a_mismatch(tmp_path):
    code, shown = add_user_at_a_terminal(tmp_path, "py-twice", ["pytest-password"] * 2)
    assert code == 0, shown
    assert shown.count("Password for py-twice: ") == 1 and "Again, to confirm: " in shown
    assert "added py-twice (staff)" in shown
    assert "pytest-password" not in shown, "the password was echoed"

    code, shown = add_user_at_a_terminal(tmp_path, "py-typo", ["pytest-password", "pytest-passw0rd"])
    assert code == 1, shown
    assert "the two passwords differ" in shown
    listed_users = subprocess.run(
        [server_binary(), "user", "list", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    ).stdout
    assert "py-twice" in listed_users and "py-typo" not in listed_users


# --------------------------------------------------------------------------------------
# serve: what SIGTERM logs
# --------------------------------------------------------------------------------------


def test_sigterm_logs_the_drain_with_what_is_in_flight_and_the_stop(start_server):
    server = start_server("--shutdown-grace", "10")
    release = threading.Event()

    def requests():
        yield import_pb2.ImportProductsRequest(product=product_pb2.Product(
            sku=unique_sku(), name="Held", price_cents=1, currency="USD"))
        release.wait(20)

    held = stub(server).ImportProducts.future(requests(), timeout=30)
    time.sleep(1)  # the call reaches the server
    server.process.process.send_signal(signal.SIGTERM)
    drain = server.process.wait_for_stderr(r"info .*calls-in-flight=(\d+) \(([^)]*)\).*shutting down", 10)
    assert "1 ImportProducts" in drain.group(2), drain.group(0)
    release.set()
    assert held.result(timeout=20).created == 1
    stopped = server.process.wait_for_stderr(r"info .*drain-seconds=(\d+\.\d+).*stopped", 20)
    assert 0 < float(stopped.group(1)) < 10
    assert server.process.process.wait(timeout=10) == 0
