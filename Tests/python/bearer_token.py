"""A grpcio client interceptor that signs calls in with a bearer token.

Its own module, so that helper processes the tests start (test_faults.py) can use it without
importing conftest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import grpc

#: Metadata a chat test sends (never reaching the server) to speak as a user of that name.
CHAT_AS_KEY = "x-test-chat-as"
#: What `storefront user add` accepts as a username.
USERNAME = re.compile(r"[a-z0-9._-]{1,64}")


@dataclass(frozen=True)
class CallDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: object
    credentials: object
    wait_for_ready: bool | None
    compression: object


class BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Sends `authorization: Bearer <token>` on every call that carries no authorization.

    A call carrying `CHAT_AS_KEY: NAME` (chat tests speaking as NAME) is sent with NAME's own
    token instead, from `identities` (the server makes the user and signs them in), since the
    server names chat members by their token and ignores what they claim.
    """

    def __init__(self, token: str) -> None:
        self._token = token
        self.identities: Callable[[str], str] | None = None

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = list(details.metadata or ())
        speaking_as = [value for key, value in metadata if key == CHAT_AS_KEY]
        metadata = [(key, value) for key, value in metadata if key != CHAT_AS_KEY]
        if any(key == "authorization" for key, _ in metadata):
            return details
        token = self._token
        if speaking_as and self.identities is not None and USERNAME.fullmatch(speaking_as[0]):
            token = self.identities(speaking_as[0])
        metadata.append(("authorization", f"Bearer {token}"))
        return CallDetails(
            method=details.method,
            timeout=details.timeout,
            metadata=metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
            compression=details.compression,
        )

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._with_token(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._with_token(details), request_iterator)
