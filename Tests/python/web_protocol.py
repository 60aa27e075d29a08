"""Plain-HTTP clients for Storefront's gRPC-Web and Connect support, for the protocol tests.

No gRPC library: HTTP/1.1 through `http.client`, HTTP/2 through test_bad_input's `h2_request`
(the `h2` package over a socket), bodies built and taken apart here: gRPC envelopes (1 flag
byte, 4-byte big-endian length, the message), gRPC-Web's trailer frame and base64 text mode,
Connect's end-of-stream message and its error JSON with google.rpc details.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import struct
import time
import urllib.parse
from dataclasses import dataclass, field

from conftest import READ_TIMEOUT
from google.protobuf import message as protobuf_message
from google.rpc import error_details_pb2
from test_bad_input import SERVICE, H2Response, h2_request

#: The flag of an envelope: gRPC-Web's trailer frame (MSB), Connect's end of stream.
GRPC_WEB_TRAILER_FLAG = 0x80
CONNECT_END_STREAM_FLAG = 0x02
COMPRESSED_FLAG = 0x01


def path_of(method: str, service: str = SERVICE) -> str:
    """The HTTP path of an RPC: `/storefront.v1.ProductService/GetProduct`."""
    return f"/{service}/{method}"


# --------------------------------------------------------------------------------------
# Envelopes
# --------------------------------------------------------------------------------------


def envelope(payload: bytes, flags: int = 0) -> bytes:
    """One length-prefixed message: flag byte, big-endian 32-bit length, payload."""
    return bytes([flags]) + struct.pack(">I", len(payload)) + payload


@dataclass(frozen=True)
class Envelope:
    flags: int
    payload: bytes


def split_envelopes(data: bytes) -> list[Envelope]:
    """Every envelope of a body, in order; fails the test on a truncated one."""
    out = []
    offset = 0
    while offset < len(data):
        assert len(data) - offset >= 5, f"a truncated prefix at {offset}: {data[offset:]!r}"
        flags = data[offset]
        (length,) = struct.unpack(">I", data[offset + 1 : offset + 5])
        start = offset + 5
        assert start + length <= len(data), (
            f"an envelope at {offset} claims {length} bytes, {len(data) - start} follow"
        )
        out.append(Envelope(flags, data[start : start + length]))
        offset = start + length
    return out


def decode_base64_chunks(body: bytes) -> bytes:
    """gRPC-Web text: base64 that may be several padded chunks one after the other (one per
    write), so it is decoded 4 characters at a time; fails on anything that is not base64."""
    text = body.decode("ascii").replace("\r", "").replace("\n", "")
    assert len(text) % 4 == 0, f"base64 text of {len(text)} characters is not whole quanta"
    try:
        return b"".join(
            base64.b64decode(text[i : i + 4], validate=True) for i in range(0, len(text), 4)
        )
    except binascii.Error as error:
        raise AssertionError(f"not base64: {text[:80]!r}: {error}") from None


def decode_unpadded_base64(value: str, urlsafe: bool = False) -> bytes:
    """Base64 as Connect writes it (padding optional), strictly in the given alphabet."""
    padded = value + "=" * (-len(value) % 4)
    if urlsafe:
        padded = padded.replace("-", "+").replace("_", "/")
    return base64.b64decode(padded, validate=True)


def base64url_unpadded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# --------------------------------------------------------------------------------------
# HTTP/1.1
# --------------------------------------------------------------------------------------


@dataclass
class HttpAnswer:
    """One HTTP response: status, headers (lower-case names; repeated ones joined with ", "),
    the whole body (chunked encoding already undone) and how long it took."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0
    version: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def tokens(self, name: str) -> list[str]:
        """A comma-separated header's values, lower-cased."""
        value = self.headers.get(name.lower(), "")
        return [token.strip().lower() for token in value.split(",") if token.strip()]

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(f"not JSON: {self.describe()}") from None

    def describe(self) -> str:
        body = self.body if len(self.body) <= 600 else self.body[:600] + b"..."
        return f"{self.version} {self.status} {self.headers} body={body!r}"


def answer_of_h2(response: H2Response) -> HttpAnswer:
    """An HTTP/2 answer in the shape of an HTTP/1.1 one (the pseudo-headers left out)."""
    assert response.ended, f"the HTTP/2 stream did not end: {response.describe()}"
    headers = {name: value for name, value in response.headers.items() if not name.startswith(":")}
    return HttpAnswer(
        status=int(response.http_status or 0),
        headers=headers,
        body=bytes(response.data),
        elapsed=response.elapsed,
        version="HTTP/2",
    )


class WebClient:
    """Plain HTTP/1.1 requests to one server; one keep-alive connection, reopened when the
    server closed it. `fresh=True` uses a connection of its own for one request."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.address = f"{host}:{port}"
        self._connection: http.client.HTTPConnection | None = None

    @property
    def origin(self) -> str:
        """The server's own origin, as a browser on its page would send it."""
        return f"http://{self.address}"

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        timeout: float = READ_TIMEOUT,
        fresh: bool = False,
    ) -> HttpAnswer:
        if fresh or self._connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            if not fresh:
                self._connection = connection
        else:
            connection = self._connection
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
        start = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if fresh:
                raise
            # The server closed the kept-alive connection between requests: once more, anew.
            self.close()
            return self.request(method, path, body, headers, timeout=timeout, fresh=True)
        elapsed = time.monotonic() - start
        merged: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        if fresh or response.will_close:
            connection.close()
            if not fresh:
                self._connection = None
        return HttpAnswer(response.status, merged, data, elapsed)

    # Connect ---------------------------------------------------------------------------

    def connect_json(
        self,
        method: str,
        message: dict,
        headers: dict[str, str] | None = None,
        *,
        service: str = SERVICE,
        timeout: float = READ_TIMEOUT,
    ) -> HttpAnswer:
        """A Connect unary call with a JSON request."""
        return self.request(
            "POST",
            path_of(method, service),
            json.dumps(message).encode(),
            {
                "content-type": "application/json",
                "connect-protocol-version": "1",
                **(headers or {}),
            },
            timeout=timeout,
        )

    def connect_proto(
        self, method: str, message: protobuf_message.Message, headers: dict[str, str] | None = None
    ) -> HttpAnswer:
        """A Connect unary call with a binary request (no connect-protocol-version header:
        the server accepts it without)."""
        return self.request(
            "POST",
            path_of(method),
            message.SerializeToString(),
            {"content-type": "application/proto", **(headers or {})},
        )

    def connect_get(
        self, method: str, query: dict[str, str], *, service: str = SERVICE
    ) -> HttpAnswer:
        """A Connect unary GET: the request in the query (`message`, `encoding`, ...)."""
        query_string = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        return self.request("GET", path_of(method, service) + "?" + query_string)

    def connect_stream(
        self,
        method: str,
        body: bytes,
        codec: str = "json",
        headers: dict[str, str] | None = None,
        *,
        timeout: float = READ_TIMEOUT,
    ) -> ConnectStream:
        """A Connect streaming call; `body` is the request's envelopes."""
        answer = self.request(
            "POST",
            path_of(method),
            body,
            {
                "content-type": f"application/connect+{codec}",
                "connect-protocol-version": "1",
                **(headers or {}),
            },
            timeout=timeout,
        )
        return ConnectStream.of(answer)

    # gRPC-Web --------------------------------------------------------------------------

    def grpc_web(
        self,
        method: str,
        body: bytes,
        *,
        text: bool = False,
        headers: dict[str, str] | None = None,
        timeout: float = READ_TIMEOUT,
    ) -> GrpcWebAnswer:
        """A gRPC-Web call; `body` is the request's envelopes (base64-encoded here for text)."""
        content_type = "application/grpc-web-text" if text else "application/grpc-web+proto"
        answer = self.request(
            "POST",
            path_of(method),
            base64.b64encode(body) if text else body,
            {"content-type": content_type, "x-grpc-web": "1", **(headers or {})},
            timeout=timeout,
        )
        return GrpcWebAnswer.of(answer, text=text)


def grpc_web_h2(
    address: str, method: str, body: bytes, headers: dict[str, str] | None = None
) -> GrpcWebAnswer:
    """A gRPC-Web binary call over HTTP/2 (h2c prior knowledge)."""
    response = h2_request(
        address,
        path_of(method),
        body,
        content_type="application/grpc-web+proto",
        headers=list({"x-grpc-web": "1", **(headers or {})}.items()),
    )
    assert not response.trailers, (
        f"gRPC-Web puts its trailers in the body, not in HTTP/2 trailers: {response.describe()}"
    )
    return GrpcWebAnswer.of(answer_of_h2(response), text=False)


# --------------------------------------------------------------------------------------
# gRPC-Web answers
# --------------------------------------------------------------------------------------


def parse_trailer_block(payload: bytes) -> dict[str, str]:
    """A gRPC-Web trailer frame's payload: `name: value` lines separated by CRLF."""
    trailers: dict[str, str] = {}
    for line in payload.decode("utf-8").split("\r\n"):
        if not line:
            continue
        name, separator, value = line.partition(":")
        assert separator, f"a trailer line without ':': {line!r} in {payload!r}"
        trailers[name.strip()] = value.strip()
    return trailers


@dataclass
class GrpcWebAnswer:
    """A gRPC-Web response taken apart: its messages, then the trailer frame (if any)."""

    http: HttpAnswer
    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] | None = None
    #: The body after base64 decoding (text mode), envelopes and all.
    raw: bytes = b""

    @classmethod
    def of(cls, http_answer: HttpAnswer, text: bool) -> GrpcWebAnswer:
        raw = decode_base64_chunks(http_answer.body) if text else http_answer.body
        answer = cls(http=http_answer, raw=raw)
        frames = split_envelopes(raw)
        for index, frame in enumerate(frames):
            if frame.flags & GRPC_WEB_TRAILER_FLAG:
                assert index == len(frames) - 1, f"envelopes after the trailer frame: {frames}"
                assert frame.flags == GRPC_WEB_TRAILER_FLAG, f"trailer frame flags {frame.flags:#x}"
                answer.trailers = parse_trailer_block(frame.payload)
            else:
                assert frame.flags == 0, f"a message envelope with flags {frame.flags:#x}"
                answer.messages.append(frame.payload)
        return answer

    @property
    def trailers_only(self) -> bool:
        """A trailers-only response: the status in the HTTP headers, nothing in the body."""
        return self.trailers is None and "grpc-status" in self.http.headers

    @property
    def grpc_status(self) -> int | None:
        source = self.trailers if self.trailers is not None else self.http.headers
        value = source.get("grpc-status")
        return None if value is None else int(value)

    @property
    def grpc_message(self) -> str:
        source = self.trailers if self.trailers is not None else self.http.headers
        return urllib.parse.unquote(source.get("grpc-message", ""))

    def describe(self) -> str:
        return f"{self.http.describe()} messages={len(self.messages)} trailers={self.trailers}"


# --------------------------------------------------------------------------------------
# Connect answers
# --------------------------------------------------------------------------------------


@dataclass
class ConnectStream:
    """A Connect streaming response: its message envelopes, then the end-of-stream JSON."""

    http: HttpAnswer
    messages: list[bytes]
    end: dict

    @classmethod
    def of(cls, http_answer: HttpAnswer) -> ConnectStream:
        assert http_answer.status == 200, (
            f"a Connect streaming answer is 200 once accepted: {http_answer.describe()}"
        )
        frames = split_envelopes(http_answer.body)
        assert frames, f"no envelopes, so no end-of-stream message: {http_answer.describe()}"
        *messages, last = frames
        assert last.flags == CONNECT_END_STREAM_FLAG, (
            f"the last envelope's flags are {last.flags:#x}: {http_answer.describe()}"
        )
        for frame in messages:
            assert frame.flags == 0, f"a message envelope with flags {frame.flags:#x}"
        try:
            end = json.loads(last.payload)
        except ValueError:
            raise AssertionError(f"end of stream not JSON: {last.payload!r}") from None
        assert isinstance(end, dict), f"the end-of-stream message is not an object: {end!r}"
        return cls(http_answer, [frame.payload for frame in messages], end)

    @property
    def error(self) -> dict | None:
        return self.end.get("error")

    def json_messages(self) -> list[dict]:
        return [json.loads(message) for message in self.messages]

    def describe(self) -> str:
        return f"{self.http.describe()} messages={len(self.messages)} end={self.end}"


def bad_request_fields(error: dict) -> list[str]:
    """The fields named by the google.rpc.BadRequest details of a Connect error JSON
    (`{"code", "message", "details": [{"type", "value"}]}`); fails without any."""
    fields = []
    for detail in error.get("details", []):
        assert set(detail) >= {"type", "value"}, f"a detail without type or value: {detail}"
        if detail["type"] == "google.rpc.BadRequest":
            bad_request = error_details_pb2.BadRequest.FromString(
                decode_unpadded_base64(detail["value"])
            )
            fields.extend(violation.field for violation in bad_request.field_violations)
    assert fields, f"no google.rpc.BadRequest field violations in {error}"
    return fields
