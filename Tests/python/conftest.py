"""End-to-end fixtures for the Storefront gRPC server.

The Python stubs are generated from Protos/ when the session starts, so the suite always
tests the contract as it is in the tree. The `server` fixture runs the real binary named by
STOREFRONT_BIN on a free loopback port with its own data folder.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import grpc
import pytest
from bearer_token import BearerToken, CallDetails

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO_ROOT / "Protos"
#: The protos the stubs are generated from. Protos/ also holds copies of grpc/health and
#: grpc/reflection for the server; generated modules in a `grpc/` folder would shadow the real
#: `grpc` package, so tests use grpcio-health-checking and grpcio-reflection for those.
STUB_PROTOS = PROTO_ROOT / "storefront"

#: Seconds any single RPC may take before the test fails with DEADLINE_EXCEEDED.
RPC_TIMEOUT = 10.0
#: Seconds the server may take to print its "listening on" line.
STARTUP_TIMEOUT = 60.0
#: Seconds the server may take to exit after SIGTERM before it is killed.
SHUTDOWN_TIMEOUT = 10.0
#: Seconds to wait for the next message of a response stream.
READ_TIMEOUT = 10.0

LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")

#: The HTTP/2 server transport every server of the suite runs on (`storefront serve
#: --transport`): STOREFRONT_TRANSPORT, `storefront` (ours, the server's default) or `nio`
#: (grpc-swift-nio-transport's). Tests whose expectations differ between the two read it.
TRANSPORT = os.environ.get("STOREFRONT_TRANSPORT", "storefront")
#: Whether the suite runs on grpc-swift-nio-transport, whose known limits some tests pin.
STOCK_TRANSPORT = TRANSPORT == "nio"


#: With STOREFRONT_PYTHON_STORE=postgres, every server (and `storefront user`) uses a database
#: of its own on the PostgreSQL server that STOREFRONT_TEST_POSTGRES_URL names, created on
#: first use; scripts/test.sh runs test_storefront.py and test_streams.py so. Otherwise
#: SQLite in the data folder.
POSTGRES_SERVER = (
    os.environ.get("STOREFRONT_TEST_POSTGRES_URL")
    if os.environ.get("STOREFRONT_PYTHON_STORE") == "postgres"
    else None
)
_databases: set[str] = set()
_databases_lock = threading.Lock()


def create_database(name: str) -> str:
    """Creates database `name` (once) on the server STOREFRONT_TEST_POSTGRES_URL names;
    returns its URL, as `storefront serve --database` takes it."""
    server = os.environ["STOREFRONT_TEST_POSTGRES_URL"]
    base, _, query = server.partition("?")
    with _databases_lock:
        if name not in _databases:
            subprocess.run(
                ["psql", "-q", server, "-c", f"CREATE DATABASE {name} TEMPLATE template0"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            _databases.add(name)
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def store_env(data_dir: Path) -> dict[str, str]:
    """The environment that points a server or a user command at the store of `data_dir`:
    nothing on SQLite; STOREFRONT_DATABASE, a database named after the folder, on PostgreSQL."""
    if not POSTGRES_SERVER:
        return {}
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]
    return {"STOREFRONT_DATABASE": create_database("storefront_py_" + digest)}


def _generate_stubs() -> str:
    """Generates the protobuf and gRPC modules into a temporary folder; returns the folder."""
    out = tempfile.mkdtemp(prefix="storefront-stubs-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    protos = sorted(str(path) for path in STUB_PROTOS.rglob("*.proto"))
    if not protos:
        raise pytest.UsageError(f"no .proto files under {STUB_PROTOS}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_ROOT}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            *protos,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise pytest.UsageError(f"protoc failed:\n{result.stdout}{result.stderr}")
    return out


sys.path.insert(0, _generate_stubs())

from google.rpc import error_details_pb2  # noqa: E402
from grpc_status import rpc_status  # noqa: E402
from storefront.v1 import (  # noqa: E402
    auth_pb2,
    auth_pb2_grpc,
    product_pb2,
    product_service_pb2,
    product_service_pb2_grpc,
)

# --------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------


class _DefaultTimeout(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Gives every call without a timeout a deadline, so a stuck server fails the test."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def _with_deadline(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        if details.timeout is not None:
            return details
        return CallDetails(
            method=details.method,
            timeout=self._seconds,
            metadata=details.metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
            compression=details.compression,
        )

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_deadline(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_deadline(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._with_deadline(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._with_deadline(details), request_iterator)


class ServerProcess:
    """A running `storefront serve` and everything it has printed so far.

    `output()` holds the last lines of stdout and stderr together; `stderr_lines()` every line
    the server logged (its logs go to stderr, the "listening on" line to stdout).
    """

    def __init__(
        self,
        binary: str,
        data_dir: Path,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        #: The variables added to the server's environment (its database), for its CLI calls.
        self.extra_env = env or {}
        self.process = subprocess.Popen(
            [
                binary,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                "--transport",
                TRANSPORT,
                *extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env={**os.environ, **store_env(data_dir), **(env or {})},
        )
        self._lines: collections.deque[str] = collections.deque(maxlen=200)
        self._stderr: collections.deque[str] = collections.deque(maxlen=100_000)
        self.port: int | None = None
        self._changed = threading.Condition()
        self._reader = threading.Thread(
            target=self._read_output, args=(self.process.stdout, False), daemon=True
        )
        self._stderr_reader = threading.Thread(
            target=self._read_output, args=(self.process.stderr, True), daemon=True
        )
        self._reader.start()
        self._stderr_reader.start()

    def _read_output(self, pipe, is_stderr: bool) -> None:
        # Drains the pipe for the server's whole life so its logging can never block it.
        assert pipe is not None
        for line in pipe:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                if is_stderr:
                    self._stderr.append(line.rstrip("\n"))
                match = LISTENING.search(line)
                if match and self.port is None and not is_stderr:
                    self.port = int(match.group(1))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def stderr_lines(self) -> list[str]:
        """Every line the server has written to stderr so far (its log), in order."""
        with self._changed:
            return list(self._stderr)

    def wait_for_stderr(self, pattern: str | re.Pattern, timeout: float) -> re.Match:
        """The first match of `pattern` in a stderr line, waiting up to `timeout` seconds."""
        compiled = re.compile(pattern)

        def find() -> re.Match | None:
            return next(filter(None, map(compiled.search, self._stderr)), None)

        with self._changed:
            self._changed.wait_for(
                lambda: find() is not None or not self._stderr_reader.is_alive(), timeout
            )
            match = find()
        if match is None:
            pytest.fail(
                f"the server logged no line matching {compiled.pattern!r} within {timeout:.0f} s. "
                f"Its output:\n{self.output()}",
                pytrace=False,
            )
        return match

    def wait_for_output_end(self, timeout: float) -> None:
        """Waits until both pipes are closed: after the process exited, all it printed is read."""
        self._reader.join(timeout=timeout)
        self._stderr_reader.join(timeout=timeout)

    def wait_until_listening(self, timeout: float) -> None:
        """Waits for the "listening on" line, which sets `port`; fails the test without it."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.port is not None or not self._reader.is_alive(), timeout
            )
            listening = self.port is not None
        if not listening:
            exit_code = self.process.poll()
            state = "still running" if exit_code is None else f"exited with {exit_code}"
            pytest.fail(
                f"the server printed no 'listening on 127.0.0.1:PORT' line within {timeout:.0f} s "
                f"({state}). Its output:\n{self.output()}",
                pytrace=False,
            )

    def stop(self) -> int:
        """Sends SIGTERM, waits, and kills the server if it is still running; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.wait_for_output_end(timeout=5)
        if os.environ.get("STOREFRONT_TEST_SERVER_OUTPUT"):
            # For debugging: every server's last lines when it stops (run pytest with -s).
            print(f"--- server on port {self.port}:\n" + "\n".join(self.stderr_lines()))
        return self.process.returncode


def server_binary() -> str:
    binary = os.environ.get("STOREFRONT_BIN")
    if not binary:
        pytest.fail(
            "STOREFRONT_BIN is not set: point it at the storefront executable, e.g. "
            "STOREFRONT_BIN=.build/debug/storefront (scripts/python-tests.sh does this for you)",
            pytrace=False,
        )
    if not os.access(binary, os.X_OK):
        pytest.fail(f"STOREFRONT_BIN={binary} is not an executable file", pytrace=False)
    return binary


@contextlib.contextmanager
def running_server(
    data_dir: Path, *extra_args: str, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """Starts a server and stops it on exit; yields once it has printed its port.

    `extra_args` are further `storefront serve` flags, e.g. "--import-batch-size", "100";
    `env` holds environment variables added to the test's own.
    """
    server = ServerProcess(server_binary(), data_dir, extra_args, env)
    try:
        server.wait_until_listening(STARTUP_TIMEOUT)
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------
# Users and tokens
# --------------------------------------------------------------------------------------

#: The admin every `connected_server` signs its channel in as.
ADMIN_USERNAME = "pytest-admin"
#: The password of every user the suite makes.
TEST_PASSWORD = "pytest-password"
#: scrypt's log2 N for the suite's users: cheap, so that many servers and users cost little.
TEST_HASH_COST = "10"


def add_user(
    data_dir: Path,
    username: str,
    role: str,
    password: str = TEST_PASSWORD,
    env: dict[str, str] | None = None,
) -> None:
    """Adds a user to a data folder with `storefront user add` (a running server sees it);
    does nothing when the user exists. `env` is added to the environment, as for the server."""
    result = subprocess.run(
        [
            server_binary(),
            "user",
            "add",
            username,
            "--role",
            role,
            "--password-stdin",
            "--hash-cost",
            TEST_HASH_COST,
            "--data-dir",
            str(data_dir),
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **store_env(data_dir), **(env or {})},
    )
    if result.returncode != 0 and "already exists" not in result.stderr:
        pytest.fail(f"storefront user add {username} failed:\n{result.stdout}{result.stderr}")


def login(channel: grpc.Channel, username: str, password: str = TEST_PASSWORD) -> str:
    """Signs in with AuthService.Login; returns the access token."""
    stub = auth_pb2_grpc.AuthServiceStub(channel)
    response = stub.Login(
        auth_pb2.LoginRequest(username=username, password=password), timeout=RPC_TIMEOUT
    )
    return response.access_token


def bearer(token: str) -> tuple[tuple[str, str]]:
    """Call metadata carrying `token`, for a call that speaks for someone else."""
    return (("authorization", f"Bearer {token}"),)


def authorized_channel(
    address: str, token: str | None, identities: Callable[[str], str] | None = None
) -> grpc.Channel:
    """A plaintext channel whose calls have a default deadline and send `token` (none: no
    token); `identities` gives chat tests the tokens of the names they speak as."""
    interceptors: list = [_DefaultTimeout(RPC_TIMEOUT)]
    if token is not None:
        bearer_token = BearerToken(token)
        bearer_token.identities = identities
        interceptors.append(bearer_token)
    return grpc.intercept_channel(grpc.insecure_channel(address), *interceptors)


@dataclass
class Server:
    """What tests need from the running server.

    `channel` is signed in as the admin `ADMIN_USERNAME` (`token`); `anonymous_channel` sends
    no token; `token_for(username, role)` adds a user if needed and signs them in.
    """

    address: str
    channel: grpc.Channel
    process: ServerProcess
    token: str = ""
    anonymous_channel: grpc.Channel | None = None
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def token_for(self, username: str, role: str = "shopper") -> str:
        """A token for `username`, added with `role` when new; one sign-in per user and role."""
        key = (username, role)
        if key not in self._tokens:
            add_user(self.process.data_dir, username, role, env=self.process.extra_env)
            assert self.anonymous_channel is not None
            self._tokens[key] = login(self.anonymous_channel, username)
        return self._tokens[key]

    def channel_for(self, username: str, role: str = "shopper") -> grpc.Channel:
        """A channel signed in as `username` (added with `role` if new); closed by the caller."""
        return authorized_channel(self.address, self.token_for(username, role))


_SERVER_PROCESS = pytest.StashKey[ServerProcess]()


@contextlib.contextmanager
def connected_server(
    data_dir: Path, *extra_args: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """A running server with a connected channel whose calls have a default deadline and are
    signed in as the admin `ADMIN_USERNAME` (added to the data folder before the server starts)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    add_user(data_dir, ADMIN_USERNAME, "admin", env=env)
    with running_server(data_dir, *extra_args, env=env) as process:
        address = f"127.0.0.1:{process.port}"
        anonymous = authorized_channel(address, None)
        try:
            grpc.channel_ready_future(anonymous).result(timeout=RPC_TIMEOUT)
        except grpc.FutureTimeoutError:
            pytest.fail(
                f"could not connect to {address}. Server output:\n{process.output()}",
                pytrace=False,
            )
        token = login(anonymous, ADMIN_USERNAME)
        identities: dict[str, Callable[[str], str]] = {}
        channel = authorized_channel(address, token, lambda name: identities["of"](name))
        server = Server(
            address=address,
            channel=channel,
            process=process,
            token=token,
            anonymous_channel=anonymous,
        )
        identities["of"] = server.token_for
        try:
            yield server
        finally:
            channel.close()
            anonymous.close()


@pytest.fixture(scope="session")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with connected_server(tmp_path_factory.mktemp("storefront-data")) as connected:
        request.config.stash[_SERVER_PROCESS] = connected.process
        yield connected


@pytest.fixture
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A factory for servers of the test's own, started with extra `storefront serve` flags.

    `start_server("--import-batch-size", "100")` returns a connected `Server` with a fresh
    data folder; every server it started is stopped when the test ends. `data_dir=` runs it
    on a given folder instead (e.g. to restart on another server's data), `env=` adds
    environment variables.
    """
    with contextlib.ExitStack() as stack:

        def start(
            *extra_args: str, data_dir: Path | None = None, env: dict[str, str] | None = None
        ) -> Server:
            if data_dir is None:
                data_dir = tmp_path_factory.mktemp("storefront-extra-data")
            return stack.enter_context(connected_server(data_dir, *extra_args, env=env))

        yield start


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attaches the server's recent output to every failed test's report."""
    report = yield
    process = item.config.stash.get(_SERVER_PROCESS, None)
    if report.failed and process is not None:
        report.sections.append(("storefront server output (last lines)", process.output()))
    return report


@pytest.fixture(scope="session")
def stub(server: Server):
    return product_service_pb2_grpc.ProductServiceStub(server.channel)


@pytest.fixture(scope="session")
def assert_serving(stub):
    """A check that the server still answers a GetProduct, for use after error tests."""
    canary = create_product(stub, name="canary")

    def check() -> None:
        response = stub.GetProduct(product_service_pb2.ProductRequest(id=canary.id))
        assert response.product.id == canary.id

    return check


# --------------------------------------------------------------------------------------
# Helpers for tests
# --------------------------------------------------------------------------------------


def unique_sku() -> str:
    """A sku no other test uses."""
    return f"py-{uuid.uuid4().hex}"


def unique_category() -> str:
    """A category no other test uses, so that listings see only the test's products."""
    return f"pytest-{uuid.uuid4().hex}"


def create_product(stub, **fields):
    """Creates a valid product, with `fields` overriding the defaults; returns the Product."""
    values = {
        "sku": unique_sku(),
        "name": "Test product",
        "description": "Made by the Python end-to-end tests.",
        "category": "pytest",
        "price_cents": 1999,
        "currency": "USD",
        "stock": 5,
    }
    values.update(fields)
    request = product_service_pb2.CreateProductRequest(product=product_pb2.Product(**values))
    return stub.CreateProduct(request).product


#: The end of a stream in a queue: `StreamReader` queues it after a stream that ended well.
STREAM_END = object()


class StreamReader:
    """A response stream, read by a thread into a queue so that reads can time out.

    `_incoming` holds the stream's messages in order, then `STREAM_END` when it ended well or
    its `grpc.RpcError` when it failed. Leaving a `with` block cancels the call.
    """

    def __init__(self, call) -> None:
        self.call = call
        self._incoming: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for message in self.call:
                self._incoming.put(message)
            self._incoming.put(STREAM_END)
        except grpc.RpcError as error:
            self._incoming.put(error)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Cancels the call and waits for the reader to queue how the stream ended."""
        self.call.cancel()
        self._reader.join(timeout=READ_TIMEOUT)


def bad_request_fields(error: grpc.RpcError) -> list[str]:
    """The fields named by the google.rpc.BadRequest details of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None, f"no rich status (grpc-status-details-bin) in {error!r}"
    fields = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            fields.extend(violation.field for violation in bad_request.field_violations)
    assert fields, f"no google.rpc.BadRequest field violations in {status}"
    return fields


@contextlib.contextmanager
def raises_rpc(code: grpc.StatusCode, field: str | tuple[str, ...] | None = None):
    """Expects the block to fail with `code`; for INVALID_ARGUMENT, naming `field`.

    `field` may be a tuple of names when the contract allows either.
    """
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert field is not None, "say which field an INVALID_ARGUMENT must name"
    with pytest.raises(grpc.RpcError) as info:
        yield info
    error = info.value
    assert error.code() == code, f"expected {code}, got {error.code()}: {error.details()}"
    if field is not None:
        accepted = (field,) if isinstance(field, str) else field
        named = bad_request_fields(error)
        assert set(accepted) & set(named), f"expected a violation of {accepted}, got {named}"
