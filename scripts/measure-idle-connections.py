#!/usr/bin/env python3
"""The memory 1,000 idle HTTP/2 connections cost a server: RSS growth per connection.

    scripts/measure-idle-connections.py HOST:PORT PID [CONNECTIONS]

Opens CONNECTIONS (default 1,000) plaintext HTTP/2 connections to the server at HOST:PORT
(process PID), each with the client preface, SETTINGS and one finished GetProduct of an unknown
id (so that the server has served a call on it, as a real client's connection has), keeps them
open and idle, and prints one JSON object: the server's RSS before and after, and the growth
per connection in KiB. Needs the `h2` package (Tests/python/requirements.txt).
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_connection(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(
        stream,
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/storefront.v1.ProductService/GetProduct"),
            (":authority", f"{host}:{port}"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ],
    )
    message = b"\x0a\x1cp_00000000000000000000000000"
    conn.send_data(stream, b"\x00" + struct.pack(">I", len(message)) + message, end_stream=True)
    sock.sendall(conn.data_to_send())
    ended = False
    while not ended:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                ended = True
        sock.sendall(conn.data_to_send())
    return sock


def main() -> None:
    address, pid = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    host, port = address.rsplit(":", 1)
    time.sleep(1)
    before = rss_kib(pid)
    sockets = [open_connection(host, int(port)) for _ in range(count)]
    time.sleep(2)
    after = rss_kib(pid)
    for sock in sockets:
        sock.close()
    print(
        json.dumps(
            dict(
                connections=count,
                rssBeforeKiB=before,
                rssAfterKiB=after,
                perConnectionKiB=(after - before) / count,
            )
        )
    )


if __name__ == "__main__":
    main()
