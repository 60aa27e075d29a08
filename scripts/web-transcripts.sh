#!/usr/bin/env bash
# curl against Storefront's web protocols, each command printed before what the server
# answered (headers and body): Connect unary (JSON, GET, an error with details, a deadline),
# Connect streaming, gRPC-Web (binary and text) and a CORS preflight. For docs/web.md and
# for looking at the wire by eye; the protocol tests (Tests/python/test_web_protocols.py)
# assert all of it.
#
#   scripts/web-transcripts.sh [HOST:PORT]   # a running server (default 127.0.0.1:50051)
#
# The server wants a catalogue, and https://shop.example among its origins:
# `storefront serve --demo-catalog 20 --web-origin https://shop.example`.
set -euo pipefail

addr="${1:-127.0.0.1:50051}"
base="http://$addr/storefront.v1.ProductService"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# show DESCRIPTION CURL_ARGS...: prints the command line, then the answer: its headers, and
# its body as text, or envelope by envelope (flags, length, then the JSON or text, or the
# bytes in hex) where the protocol frames it.
show() {
  local description="$1"
  shift
  printf '\n## %s\n$ curl' "$description"
  printf " %q" "$@"
  printf '\n'
  curl -sS -i "$@" >"$work/answer" || true
  python3 - "$work/answer" <<'EOF'
import base64, re, sys
data = open(sys.argv[1], "rb").read()
head, _, body = data.partition(b"\r\n\r\n")
head = head.decode("latin-1").replace("\r", "")
print(head + "\n")
kind = (re.search(r"^content-type: *(\S+)", head, re.M | re.I) or [None, ""])[1]
if kind.startswith("application/grpc-web-text"):
    # Base64 per write: segments, each padded, one after the other.
    segments = re.split(rb"(?<==)(?=[^=])", body.strip())
    body = b"".join(base64.b64decode(segment) for segment in segments)
if not (kind.startswith("application/grpc-web") or kind.startswith("application/connect+")):
    print(body.decode("utf-8", "replace"))
    sys.exit()
while len(body) >= 5:
    flags, size = body[0], int.from_bytes(body[1:5], "big")
    message, body = body[5:5 + size], body[5 + size:]
    try:
        text = message.decode()
        printable = all(c.isprintable() or c in "\r\n" for c in text)
    except UnicodeDecodeError:
        printable = False
    shown = text.replace("\r\n", " | ").strip(" |") if printable else message.hex(" ")
    print("[envelope flags 0x%02x, %d bytes] %s" % (flags, size, shown))
EOF
}

# envelope FLAGS TEXT: one length-prefixed message, as gRPC-Web and Connect streaming frame.
envelope() {
  python3 -c 'import struct, sys; m = sys.argv[2].encode("latin-1"); sys.stdout.buffer.write(bytes([int(sys.argv[1])]) + struct.pack(">I", len(m)) + m)' "$1" "$2"
}

envelope 0 '{"pageSize": 2}' >"$work/list.envelope"
id="$(curl -sS -H 'content-type: application/connect+json' --data-binary @"$work/list.envelope" \
  "$base/ListProducts" | python3 -c 'import json, sys
data = sys.stdin.buffer.read()
print(json.loads(data[5:5 + int.from_bytes(data[1:5], "big")])["product"]["id"])')"
request="{\"id\": \"$id\"}"
# GetProduct's request in protobuf: field 1 (id), length-delimited.
printf '\x0a%b%s' "\\x$(printf %02x "${#id}")" "$id" >"$work/get.proto"
python3 -c 'import struct, sys; m = open(sys.argv[1], "rb").read(); sys.stdout.buffer.write(b"\0" + struct.pack(">I", len(m)) + m)' \
  "$work/get.proto" >"$work/get.grpc"
query="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$request")"

show "Connect unary, JSON" -H 'content-type: application/json' -d "$request" "$base/GetProduct"
show "Connect unary, GET (side-effect free methods)" \
  "$base/GetProduct?encoding=json&message=$query"
show "Connect unary, an error with details (BadRequest)" -H 'content-type: application/json' \
  -d '{"id": ""}' "$base/GetProduct"
show "Connect unary, not found" -H 'content-type: application/json' \
  -d '{"id": "p_missing"}' "$base/GetProduct"
show "Connect unary, a write without a token" -H 'content-type: application/json' \
  -d '{"product": {"sku": "X-1"}}' "$base/CreateProduct"
show "Connect unary, a deadline already too short" -H 'content-type: application/json' \
  -H 'connect-timeout-ms: 0' -d "$request" "$base/GetProduct"
show "Connect server streaming (connect+json): two products, then end-of-stream" \
  -H 'content-type: application/connect+json' --data-binary @"$work/list.envelope" \
  "$base/ListProducts"
show "gRPC-Web, binary: the message, then the trailers envelope (flag 0x80)" \
  -H 'content-type: application/grpc-web+proto' --data-binary @"$work/get.grpc" \
  "$base/GetProduct"
show "gRPC-Web, text (base64)" -H 'content-type: application/grpc-web-text' \
  -H 'accept: application/grpc-web-text' --data-binary "$(base64 -w0 "$work/get.grpc")" \
  "$base/GetProduct"
# The prefix promises 9 bytes; 3 come.
python3 -c 'import sys; sys.stdout.buffer.write(b"\0\0\0\0\x09abc")' >"$work/short.grpc"
show "gRPC-Web over HTTP/1.1, a malformed envelope" --http1.1 \
  -H 'content-type: application/grpc-web+proto' --data-binary @"$work/short.grpc" \
  "$base/GetProduct"
show "CORS preflight from an origin --web-origin lists" -X OPTIONS \
  -H 'origin: https://shop.example' -H 'access-control-request-method: POST' \
  -H 'access-control-request-headers: content-type,authorization,connect-protocol-version' \
  "$base/GetProduct"
show "CORS preflight from an origin --web-origin does not list" -X OPTIONS \
  -H 'origin: https://elsewhere.example' -H 'access-control-request-method: POST' \
  -H 'access-control-request-headers: content-type' "$base/GetProduct"
