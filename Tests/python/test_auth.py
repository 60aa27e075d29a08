"""Users, roles, sign-in and TLS, end to end with grpcio and the CLI.

Every server here is the real binary; users are made with `storefront user add`, tokens with
AuthService.Login (or forged here, with the server's own key read from its data folder, to
show what the server checks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import subprocess
import time
import uuid
from pathlib import Path

import grpc
import pytest
from conftest import (
    ADMIN_USERNAME,
    READ_TIMEOUT,
    RPC_TIMEOUT,
    STARTUP_TIMEOUT,
    TEST_PASSWORD,
    ServerProcess,
    add_user,
    bearer,
    create_product,
    login,
    running_server,
    server_binary,
    unique_category,
    unique_sku,
)
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from storefront.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    chat_pb2,
    image_pb2,
    import_pb2,
    product_pb2,
    product_service_pb2,
    product_service_pb2_grpc,
)
from test_storefront import GIF

Code = grpc.StatusCode
ChatMessage = chat_pb2.ChatMessage


def stub_of(channel) -> product_service_pb2_grpc.ProductServiceStub:
    return product_service_pb2_grpc.ProductServiceStub(channel)


def a_product(**fields) -> product_pb2.Product:
    values = {
        "sku": unique_sku(),
        "name": "Auth test product",
        "category": "pytest-auth",
        "price_cents": 500,
        "currency": "USD",
        "stock": 1,
    }
    values.update(fields)
    return product_pb2.Product(**values)


def code_of(call) -> Code | None:
    """The status of `call()`: None when it succeeded."""
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return None


# --------------------------------------------------------------------------------------
# Roles on every RPC
# --------------------------------------------------------------------------------------


def write_calls(stub, product: product_pb2.Product, category: str):
    """Each write RPC, as a call that would change the store if it were allowed."""
    return {
        "CreateProduct": lambda: stub.CreateProduct(
            product_service_pb2.CreateProductRequest(product=a_product(category=category))
        ),
        "UpdateProduct": lambda: stub.UpdateProduct(
            product_service_pb2.UpdateProductRequest(
                product=product_pb2.Product(id=product.id, name="Changed"),
                update_mask=field_mask_pb2.FieldMask(paths=["name"]),
            )
        ),
        "DeleteProduct": lambda: stub.DeleteProduct(
            product_service_pb2.DeleteProductRequest(id=product.id)
        ),
        "ImportProducts": lambda: stub.ImportProducts(
            iter([import_pb2.ImportProductsRequest(product=a_product(category=category))])
        ),
        "UploadProductImages": lambda: stub.UploadProductImages(
            iter(
                [
                    image_pb2.ImageRequest(
                        metadata=image_pb2.ImageMetadata(
                            product_id=product.id, filename="a.gif", content_type="image/gif"
                        )
                    ),
                    image_pb2.ImageRequest(chunk=GIF),
                ]
            )
        ),
    }


def assert_unchanged(admin_stub, product: product_pb2.Product, category: str) -> None:
    now = admin_stub.GetProduct(product_service_pb2.ProductRequest(id=product.id)).product
    assert now == product, "a refused write changed the product"
    listed = list(admin_stub.ListProducts(product_service_pb2.ProductRequest(category=category)))
    assert listed == [], "a refused write created a product"


@pytest.mark.parametrize(
    "rpc", ["CreateProduct", "UpdateProduct", "DeleteProduct", "ImportProducts", "UploadProductImages"]
)
@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", Code.UNAUTHENTICATED), ("shopper", Code.PERMISSION_DENIED)],
)
def test_a_write_by_an_anonymous_caller_or_a_shopper_is_refused_and_writes_nothing(
    server, stub, rpc, who, expected
):
    product = create_product(stub, category=unique_category())
    category = unique_category()
    if who == "anonymous":
        channel = server.anonymous_channel
    else:
        channel = server.channel_for("py-shopper", "shopper")
    assert code_of(write_calls(stub_of(channel), product, category)[rpc]) == expected
    assert_unchanged(stub, product, category)


@pytest.mark.parametrize(
    "rpc", ["CreateProduct", "UpdateProduct", "DeleteProduct", "ImportProducts", "UploadProductImages"]
)
def test_staff_may_write(server, stub, rpc):
    product = create_product(stub, category=unique_category())
    with server.channel_for("py-staff", "staff") as channel:
        assert code_of(write_calls(stub_of(channel), product, unique_category())[rpc]) is None


def test_a_shopper_reads_and_chats_under_their_own_name(server, stub):
    product = create_product(stub)
    with server.channel_for("py-reader", "shopper") as channel:
        shopper = stub_of(channel)
        got = shopper.GetProduct(product_service_pb2.ProductRequest(id=product.id)).product
        assert got.id == product.id
        listed = list(shopper.ListProducts(product_service_pb2.ProductRequest(category="pytest")))
        assert product.id in [response.product.id for response in listed]
        call = shopper.Chat(
            iter([ChatMessage(kind=ChatMessage.JOIN, room=product.id, sender="someone-else")]),
            timeout=READ_TIMEOUT,
        )
        first = next(call)
        assert (first.kind, first.sender) == (ChatMessage.JOIN, "py-reader")
        call.cancel()


def test_anonymous_callers_read_but_may_not_chat(server, stub):
    product = create_product(stub)
    anonymous = stub_of(server.anonymous_channel)
    assert anonymous.GetProduct(product_service_pb2.ProductRequest(id=product.id)).product == product
    call = anonymous.Chat(iter([ChatMessage(kind=ChatMessage.JOIN, room=product.id)]))
    with pytest.raises(grpc.RpcError) as info:
        next(call)
    assert info.value.code() == Code.UNAUTHENTICATED


def test_user_management_needs_an_admin(server):
    request = auth_pb2.CreateUserRequest(
        username=f"made-{uuid.uuid4().hex[:8]}", role="shopper", password="a long password"
    )
    with server.channel_for("py-staff", "staff") as channel:
        with pytest.raises(grpc.RpcError) as info:
            auth_pb2_grpc.UserServiceStub(channel).CreateUser(request)
        assert info.value.code() == Code.PERMISSION_DENIED
    admin = auth_pb2_grpc.UserServiceStub(server.channel)
    assert admin.CreateUser(request).user.role == "shopper"
    names = [user.username for user in admin.ListUsers(auth_pb2.ListUsersRequest()).users]
    assert request.username in names and ADMIN_USERNAME in names
    # The new user signs in with the password the admin gave.
    assert login(server.anonymous_channel, request.username, "a long password")


def test_health_and_reflection_need_no_token(server):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    health = health_pb2_grpc.HealthStub(server.anonymous_channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


# --------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(key: bytes, claims: dict, alg: str = "HS256") -> str:
    """A JWT with `claims`, signed with `key` (HMAC-SHA256) unless `alg` is "none"."""
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    if alg == "none":
        return f"{header}.{payload}."
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def claims_for(username: str, role: str, expires_in: int) -> dict:
    now = int(time.time())
    return {"sub": username, "role": role, "iat": now, "exp": now + expires_in, "jti": "t"}


def server_key(server) -> bytes:
    return (server.process.data_dir / "token.key").read_bytes()


def test_the_token_key_is_made_on_first_start_readable_by_the_owner_alone(server):
    mode = stat.S_IMODE((server.process.data_dir / "token.key").stat().st_mode)
    assert mode == 0o600
    assert len(server_key(server)) >= 32


@pytest.mark.parametrize(
    "case",
    ["malformed", "not-bearer", "other-key", "alg-none", "expired", "unknown-user", "no-sub"],
)
def test_a_bad_token_is_unauthenticated_for_reads_and_writes(server, stub, case):
    key = server_key(server)
    admin_claims = claims_for(ADMIN_USERNAME, "admin", 600)
    authorization = {
        "malformed": "Bearer not.a.jwt",
        "not-bearer": f"Basic {base64.b64encode(b'pytest-admin:pytest-password').decode()}",
        "other-key": "Bearer " + forge(os.urandom(32), admin_claims),
        "alg-none": "Bearer " + forge(key, admin_claims, alg="none"),
        "expired": "Bearer " + forge(key, claims_for(ADMIN_USERNAME, "admin", -5)),
        "unknown-user": "Bearer " + forge(key, claims_for("nobody-here", "admin", 600)),
        "no-sub": "Bearer " + forge(key, {"role": "admin", "exp": int(time.time()) + 600}),
    }[case]
    metadata = (("authorization", authorization),)
    product = create_product(stub)
    anonymous = stub_of(server.anonymous_channel)
    read = lambda: anonymous.GetProduct(  # noqa: E731
        product_service_pb2.ProductRequest(id=product.id), metadata=metadata
    )
    category = unique_category()
    write = lambda: anonymous.CreateProduct(  # noqa: E731
        product_service_pb2.CreateProductRequest(product=a_product(category=category)),
        metadata=metadata,
    )
    assert code_of(read) == Code.UNAUTHENTICATED
    assert code_of(write) == Code.UNAUTHENTICATED
    assert_unchanged(stub, product, category)


def test_a_token_acts_with_the_users_stored_role_not_the_one_it_claims(server, stub):
    server.token_for("py-climber", "shopper")
    raised = forge(server_key(server), claims_for("py-climber", "admin", 600))
    category = unique_category()
    with pytest.raises(grpc.RpcError) as info:
        stub_of(server.anonymous_channel).CreateProduct(
            product_service_pb2.CreateProductRequest(product=a_product(category=category)),
            metadata=bearer(raised),
        )
    assert info.value.code() == Code.PERMISSION_DENIED
    assert list(stub.ListProducts(product_service_pb2.ProductRequest(category=category))) == []


def test_a_token_expires_after_the_token_ttl(start_server):
    server = start_server("--token-ttl", "1")
    token = server.token_for("py-brief", "staff")
    staff = stub_of(server.anonymous_channel)
    request = product_service_pb2.CreateProductRequest(product=a_product())
    staff.CreateProduct(request, metadata=bearer(token))
    time.sleep(1.5)
    request = product_service_pb2.CreateProductRequest(product=a_product())
    with pytest.raises(grpc.RpcError) as info:
        staff.CreateProduct(request, metadata=bearer(token))
    assert info.value.code() == Code.UNAUTHENTICATED


def run_cli(*args: str, input: str | None = None, env: dict | None = None):
    return subprocess.run(
        [server_binary(), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_a_disabled_user_can_neither_sign_in_nor_use_a_token(start_server):
    server = start_server("--user-cache-time", "0")
    token = server.token_for("py-leaver", "staff")
    staff = stub_of(server.anonymous_channel)
    staff.CreateProduct(
        product_service_pb2.CreateProductRequest(product=a_product()), metadata=bearer(token)
    )
    result = run_cli("user", "disable", "py-leaver", "--data-dir", str(server.process.data_dir))
    assert result.returncode == 0, result.stderr
    listed = run_cli("user", "list", "--json", "--data-dir", str(server.process.data_dir))
    users = {row["username"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert users["py-leaver"] == {"username": "py-leaver", "role": "staff", "enabled": False}
    with pytest.raises(grpc.RpcError) as info:
        staff.CreateProduct(
            product_service_pb2.CreateProductRequest(product=a_product()), metadata=bearer(token)
        )
    assert info.value.code() == Code.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        login(server.anonymous_channel, "py-leaver")
    assert info.value.code() == Code.UNAUTHENTICATED


# --------------------------------------------------------------------------------------
# Sign-in
# --------------------------------------------------------------------------------------


def retry_delay(error: grpc.RpcError) -> float:
    status = rpc_status.from_call(error)
    assert status is not None, "no rich status"
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    pytest.fail(f"no google.rpc.RetryInfo in {status}")


def test_wrong_credentials_do_not_say_which_part_was_wrong(server):
    server.token_for("py-known", "shopper")
    answers = set()
    for username, password in [("py-known", "wrong password"), ("py-unknown", TEST_PASSWORD)]:
        with pytest.raises(grpc.RpcError) as info:
            login(server.anonymous_channel, username, password)
        answers.add((info.value.code(), info.value.details()))
    assert answers == {(Code.UNAUTHENTICATED, "wrong username or password")}


def test_repeated_failures_are_throttled_with_retry_info(start_server):
    server = start_server("--login-free-failures", "2")
    server.token_for("py-target", "staff")
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as info:
            login(server.anonymous_channel, "py-target", "guess")
        assert info.value.code() == Code.UNAUTHENTICATED
    delays = []
    for password in ["guess", TEST_PASSWORD]:  # even the right one waits out the lockout
        with pytest.raises(grpc.RpcError) as info:
            login(server.anonymous_channel, "py-target", password)
        assert info.value.code() == Code.RESOURCE_EXHAUSTED
        delays.append(retry_delay(info.value))
    assert 0 < delays[0] <= 1.0 and 0 < delays[1] <= delays[0]
    # Another username is not affected; after the delay the right password works.
    assert login(server.anonymous_channel, ADMIN_USERNAME)
    time.sleep(delays[1] + 0.2)
    assert login(server.anonymous_channel, "py-target")


def test_a_new_server_says_how_to_create_the_first_admin(tmp_path):
    with running_server(tmp_path / "empty") as process:
        line = process.wait_for_stderr(r"no users yet.*storefront user add NAME --role admin", 10)
        assert str(tmp_path / "empty") in line.string


def test_serving_beyond_loopback_without_tls_warns(tmp_path):
    process = ServerProcess(server_binary(), tmp_path / "open", ("--host", "0.0.0.0"))
    try:
        process.wait_for_stderr(r"serving without TLS on 0\.0\.0\.0", STARTUP_TIMEOUT)
    finally:
        process.stop()


def test_user_add_never_takes_a_password_from_the_command_line(tmp_path):
    result = run_cli("user", "add", "nopass", "--role", "staff", "--data-dir", str(tmp_path))
    assert result.returncode != 0
    assert "--password-stdin" in result.stderr
    short = run_cli(
        "user", "add", "shorty", "--role", "staff", "--password-stdin", "--data-dir", str(tmp_path),
        input="short\n",
    )
    assert short.returncode != 0 and "at least 8" in short.stderr
    listed = run_cli("user", "list", "--data-dir", str(tmp_path))
    assert listed.stdout == ""


# --------------------------------------------------------------------------------------
# TLS, and the CLI end to end
# --------------------------------------------------------------------------------------


def openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    """A CA, a server certificate for 127.0.0.1, and client certificates from a client CA and
    from a CA nobody trusts, made with openssl."""
    directory = tmp_path_factory.mktemp("tls")
    for ca in ["ca", "client-ca", "stranger-ca"]:
        openssl(
            directory, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
            "-subj", f"/CN=Test {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=keyCertSign,cRLSign",
        )  # fmt: skip
    for name, ca, extensions in [
        ("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
        ("client", "client-ca", "extendedKeyUsage=clientAuth"),
        ("stranger", "stranger-ca", "extendedKeyUsage=clientAuth"),
    ]:
        (directory / f"{name}.ext").write_text(extensions)
        openssl(
            directory, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
        )  # fmt: skip
        openssl(
            directory, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem",
            "-CAkey", f"{ca}.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            "-extfile", f"{name}.ext",
        )  # fmt: skip
    return directory


def secure_channel(address: str, certificates: Path, client: str | None = None) -> grpc.Channel:
    key = (certificates / f"{client}.key").read_bytes() if client else None
    chain = (certificates / f"{client}.pem").read_bytes() if client else None
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(certificates / "ca.pem").read_bytes(),
        private_key=key,
        certificate_chain=chain,
    )
    return grpc.secure_channel(address, credentials)


def test_staff_over_tls_with_the_cli_creates_and_uploads_and_a_shopper_is_denied(
    tmp_path, certificates
):
    data = tmp_path / "data"
    add_user(data, "py-stella", "staff")
    add_user(data, "py-sam", "shopper")
    tls = ["--tls-cert", str(certificates / "server.pem"), "--tls-key", str(certificates / "server.key")]
    with running_server(data, *tls) as process:
        address = f"127.0.0.1:{process.port}"
        client = ["--server", address, "--tls-ca", str(certificates / "ca.pem")]
        config = tmp_path / "config"
        env = {"XDG_CONFIG_HOME": str(config), "STOREFRONT_TOKEN": ""}

        signed_in = run_cli("login", "py-stella", "--password-stdin", *client, input=TEST_PASSWORD + "\n", env=env)
        assert signed_in.returncode == 0, signed_in.stderr
        token_file = config / "storefront" / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700

        created = run_cli(
            "product", "create", "--sku", unique_sku(), "--name", "TLS mug", "--price-cents", "999",
            "--json", *client, env=env,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        product_id = json.loads(created.stdout)["id"]
        image = tmp_path / "front.gif"
        image.write_bytes(GIF)
        uploaded = run_cli("image", "upload", product_id, str(image), "--json", *client, env=env)
        assert uploaded.returncode == 0, uploaded.stderr

        # The shopper signs in too (replacing the saved token): reads work, writes do not.
        shopper = run_cli("login", "py-sam", "--password-stdin", *client, input=TEST_PASSWORD + "\n", env=env)
        assert shopper.returncode == 0, shopper.stderr
        got = run_cli("product", "get", product_id, "--json", *client, env=env)
        assert got.returncode == 0 and len(json.loads(got.stdout)["imageIds"]) == 1
        for write in [
            ["product", "create", "--sku", unique_sku(), "--name", "No", "--price-cents", "1"],
            ["product", "delete", product_id],
            ["image", "upload", product_id, str(image)],
        ]:
            denied = run_cli(*write, *client, env=env)
            assert denied.returncode != 0 and "PERMISSION_DENIED" in denied.stderr, denied.stderr

        # --token, then STOREFRONT_TOKEN, win over the saved (shopper's) token.
        staff_token = login(secure_channel(address, certificates), "py-stella")
        for how in (["--token", staff_token], []):
            with_env = {**env, "STOREFRONT_TOKEN": "" if how else staff_token}
            created = run_cli(
                "product", "create", "--sku", unique_sku(), "--name", "Token", "--price-cents", "1",
                *how, *client, env=with_env,
            )  # fmt: skip
            assert created.returncode == 0, created.stderr

        # grpcio over TLS: the server's certificate checks out against the CA; plaintext fails.
        with secure_channel(address, certificates) as channel:
            token = login(channel, "py-stella")
            stub = stub_of(channel)
            product = stub.GetProduct(
                product_service_pb2.ProductRequest(id=product_id), metadata=bearer(token)
            ).product
            assert len(product.image_ids) == 1
        with grpc.insecure_channel(address) as plaintext:
            with pytest.raises(grpc.RpcError) as info:
                stub_of(plaintext).GetProduct(
                    product_service_pb2.ProductRequest(id=product_id), timeout=5
                )
            assert info.value.code() == Code.UNAVAILABLE


def test_mutual_tls_lets_in_only_clients_with_a_certificate_from_the_client_ca(
    tmp_path, certificates
):
    data = tmp_path / "data"
    add_user(data, "py-stella", "staff")
    with running_server(
        data,
        "--tls-cert", str(certificates / "server.pem"),
        "--tls-key", str(certificates / "server.key"),
        "--tls-client-ca", str(certificates / "client-ca.pem"),
    ) as process:  # fmt: skip
        address = f"127.0.0.1:{process.port}"
        with secure_channel(address, certificates, client="client") as channel:
            assert login(channel, "py-stella")
        for client in [None, "stranger"]:
            with secure_channel(address, certificates, client=client) as channel:
                with pytest.raises(grpc.RpcError) as info:
                    login(channel, "py-stella")
                assert info.value.code() == Code.UNAVAILABLE, client
        # The CLI presents its certificate with --tls-cert and --tls-key.
        result = run_cli(
            "login", "py-stella", "--password-stdin", "--print-token", "--server", address,
            "--tls-ca", str(certificates / "ca.pem"),
            "--tls-cert", str(certificates / "client.pem"),
            "--tls-key", str(certificates / "client.key"),
            input=TEST_PASSWORD + "\n",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.count(".") == 2  # a JWT
