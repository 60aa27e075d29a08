#!/usr/bin/env python3
"""Measures what compressed requests cost the server's memory: 20,000 GetProduct calls
without compression, then 20,000 gzip-compressed ones, against a server started with
--enable-compression; prints its RSS before and after each run.

    .venv/bin/python scripts/measure-compression.py [--binary .build/release/storefront]

grpc-swift-nio-transport 2.9.2 keeps about 4 KiB of zlib state per compressed request.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
stubs = tempfile.mkdtemp(prefix="storefront-gz-stubs-")
subprocess.run(
    [sys.executable, "-m", "grpc_tools.protoc", f"--proto_path={ROOT / 'Protos'}",
     f"--python_out={stubs}", f"--grpc_python_out={stubs}",
     *sorted(str(p.relative_to(ROOT / "Protos")) for p in (ROOT / "Protos" / "storefront").rglob("*.proto"))],
    check=True,
)
sys.path.insert(0, stubs)
import grpc  # noqa: E402
from storefront.v1 import product_service_pb2 as service, product_service_pb2_grpc as grpc_service  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / ".build/release/storefront"))
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    server = subprocess.Popen(
        [args.binary, "serve", "--port", "0", "--data-dir", tempfile.mkdtemp(), "--enable-compression"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    port = re.search(r":(\d+) ", server.stdout.readline()).group(1)

    def rss_mib() -> int:
        status = Path(f"/proc/{server.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024

    try:
        for compression in (grpc.Compression.NoCompression, grpc.Compression.Gzip):
            with grpc.insecure_channel(f"127.0.0.1:{port}", compression=compression) as channel:
                stub = grpc_service.ProductServiceStub(channel)
                before = rss_mib()
                for _ in range(args.calls):
                    try:
                        stub.GetProduct(service.ProductRequest(id="p_missing"))
                    except grpc.RpcError:
                        pass
                print(f"{compression.name}: RSS {before} -> {rss_mib()} MiB after {args.calls} calls")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
