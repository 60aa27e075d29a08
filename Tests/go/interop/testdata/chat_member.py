"""A Chat member on grpcio (C core) for the Go suite's test of a Go and a Python member in one
room, driven over its standard input and output.

    chat_member.py ADDRESS ROOM PROTO_ROOT     (STOREFRONT_TOKEN: the member's access token)

It JOINs ROOM at once, then reads commands from standard input, one a line: `say TEXT` sends
a MESSAGE, `leave` sends a LEAVE and ends the member's side of the stream, as does the end of
the input. It prints every message it receives as one JSON object a line
({"kind", "sequence", "sender", "text"}), and {"end": CODE} when the stream has ended.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import grpc

#: Seconds the stream may live; the test's exchange lasts far less.
CHAT_DEADLINE = 60.0


def generate_stubs(proto_root: Path) -> str:
    """Generates the storefront.v1 modules from the protos into a temporary folder."""
    out = tempfile.mkdtemp(prefix="storefront-chat-stubs-")
    protos = sorted(str(path) for path in (proto_root / "storefront").rglob("*.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"--proto_path={proto_root}",
         f"--python_out={out}", f"--grpc_python_out={out}", *protos],
        check=True,
    )
    return out


def main() -> None:
    address, room, proto_root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    stubs = generate_stubs(proto_root)
    sys.path.insert(0, stubs)
    from storefront.v1 import chat_pb2, product_service_pb2_grpc

    message = chat_pb2.ChatMessage
    outgoing: queue.Queue = queue.Queue()
    outgoing.put(message(kind=message.JOIN, room=room))

    def read_commands() -> None:
        for line in sys.stdin:
            command, _, text = line.rstrip("\n").partition(" ")
            if command == "say":
                outgoing.put(message(kind=message.MESSAGE, room=room, text=text))
            elif command == "leave":
                outgoing.put(message(kind=message.LEAVE, room=room))
                break
        outgoing.put(None)  # the end of the requests

    threading.Thread(target=read_commands, daemon=True).start()
    token = os.environ["STOREFRONT_TOKEN"]
    code = "OK"
    with grpc.insecure_channel(address) as channel:
        call = product_service_pb2_grpc.ProductServiceStub(channel).Chat(
            iter(outgoing.get, None),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=CHAT_DEADLINE,
        )
        try:
            for received in call:
                print(json.dumps({
                    "kind": message.Kind.Name(received.kind),
                    "sequence": received.sequence,
                    "sender": received.sender,
                    "text": received.text,
                }), flush=True)
        except grpc.RpcError as error:
            code = error.code().name
            print(f"chat_member: {code}: {error.details()}", file=sys.stderr, flush=True)
    print(json.dumps({"end": code}), flush=True)
    shutil.rmtree(stubs, ignore_errors=True)


if __name__ == "__main__":
    main()
