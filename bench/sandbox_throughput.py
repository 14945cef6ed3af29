"""How many requests/second the sandbox serves at 0 ms latency, on loopback.

The sandbox runs in its own process (as `did-import sandbox` would); this process is the
load generator: `--connections` keep-alive HTTP/1.1 connections, each sending prebuilt
requests back to back on uvloop (a lean client, so the generator is not the bottleneck
on a 2-core machine), hammering one endpoint for `--seconds` each. Prints one table
row per endpoint. The target is >= 3,000 rps.

    python bench/sandbox_throughput.py [--seconds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import aiohttp
import uvloop

ROOT = Path(__file__).resolve().parent.parent
TARGET_RPS = 3000
_SERVER = """
from importer.sandbox import SandboxConfig, serve
def ready(url, token):
    print(url, token, flush=True)
serve(SandboxConfig(), port=0, on_ready=ready)
"""

RequestBuilder = Callable[[int], bytes]


@contextmanager
def sandbox_process() -> Iterator[tuple[str, str]]:
    """Start the sandbox in a child process; yield (base_url, token)."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", _SERVER]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            base_url, token = process.stdout.readline().split()
            yield base_url, token
        finally:
            process.terminate()


class Connection:
    """One keep-alive HTTP/1.1 connection sending prebuilt requests (lean on purpose)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> int:
        """Send one request; read the whole answer; return its status."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return int(head[9:12])


async def hammer(
    url: str, build: RequestBuilder, seconds: float, connections: int
) -> tuple[int, int, float]:
    """Send `build(n)` requests from `connections` connections for `seconds`."""
    parts = urlsplit(url)
    counter = itertools.count()
    ok = errors = 0

    async def worker(deadline: float) -> None:
        nonlocal ok, errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        connection = Connection(reader, writer)
        while time.perf_counter() < deadline:
            status = await connection.exchange(build(next(counter)))
            ok, errors = (ok + 1, errors) if status < 400 else (ok, errors + 1)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(started + seconds) for _ in range(connections)))
    return ok, errors, time.perf_counter() - started


def request_builders(base_url: str, token: str, seeded_sid: str) -> dict[str, RequestBuilder]:
    """The endpoints to measure, each as a function of n returning the raw request."""
    parts = urlsplit(base_url)
    collection = f"{parts.path}/phonenumber/external_dids"
    common = f"Host: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
    get_one = f"GET {collection}/{seeded_sid} HTTP/1.1\r\n{common}\r\n".encode()
    query = urlencode({"filter": 'phonenumber eq "12059051025"'})
    list_one = f"GET {collection}?{query} HTTP/1.1\r\n{common}\r\n".encode()

    def register(n: int) -> bytes:
        body = json.dumps({"phonenumber": f"1205{2000000 + n:07d}", "capabilities": 3})
        head = f"POST {collection} HTTP/1.1\r\n{common}Content-Type: application/json\r\n"
        return f"{head}Content-Length: {len(body)}\r\n\r\n{body}".encode()

    return {
        "GET /external_dids/{sid}": lambda n: get_one,
        "GET list filter eq": lambda n: list_one,
        "POST register": register,
    }


async def seed_record(base_url: str, token: str) -> str:
    """Register the sample number; return its sid."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"phonenumber": "12059051025", "capabilities": 3}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base_url}/phonenumber/external_dids", json=body, headers=headers) as r,
    ):
        return str((await r.json())["external_did_sid"])


async def main(seconds: float, connections: int) -> None:
    """Measure every endpoint and print the table."""
    with sandbox_process() as (base_url, token):
        sid = await seed_record(base_url, token)
        print(f"sandbox {base_url}, {connections} connections, {seconds:g} s per endpoint")
        print(f"{'endpoint':<26} {'requests':>9} {'errors':>7} {'rps':>8}  target {TARGET_RPS}")
        for name, build in request_builders(base_url, token, sid).items():
            ok, errors, elapsed = await hammer(base_url, build, seconds, connections)
            rps = (ok + errors) / elapsed
            verdict = "ok" if rps >= TARGET_RPS and not errors else "BELOW" if not errors else "ERR"
            print(f"{name:<26} {ok + errors:>9} {errors:>7} {rps:>8.0f}  {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    arguments = parser.parse_args()
    uvloop.run(main(arguments.seconds, arguments.connections))
