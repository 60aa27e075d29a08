"""The Python modules of Storefront's protos, for the measurement scripts (scripts/*.py):
generated with grpc_tools into a temporary folder that is put first on sys.path. (The test
suite makes its own in Tests/python/conftest.py.)"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def generate(prefix: str = "storefront-stubs-") -> None:
    """Generates `storefront.v1`'s modules and makes them importable."""
    out = tempfile.mkdtemp(prefix=prefix)
    protos = sorted(str(p.relative_to(ROOT / "Protos"))
                    for p in (ROOT / "Protos" / "storefront").rglob("*.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"--proto_path={ROOT / 'Protos'}",
         f"--python_out={out}", f"--grpc_python_out={out}", *protos],
        check=True,
    )
    sys.path.insert(0, out)
