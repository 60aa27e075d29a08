"""A throwaway PostgreSQL cluster: Debian's postgresql package, initdb as the postgres user
into a temporary directory in /tmp, a free loopback port, trust authentication, fsync off.
For tests and measurements that stop and start a database of their own."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class Cluster:
    """A throwaway PostgreSQL: initdb, pg_ctl start and stop, as the postgres user."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
        assert bins, "PostgreSQL is not installed (apt-get install postgresql)"
        self.bin = Path(bins[-1])
        # In /tmp itself: the postgres user cannot enter pytest's private folders.
        self.root = Path(tempfile.mkdtemp(prefix="storefront-pg-restart-"))
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.run("initdb", "-D", str(self.root / "data"), "-U", "storefront", "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8")
        with open(self.root / "data" / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nfsync = off\n"
            )

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"),
                 "-w", "-t", "60", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "storefront", "-d",
                 "postgres", "-q", "-c", f"CREATE DATABASE {name}")
        return f"postgres://storefront@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)
