"""A small HTTP/1.1 load generator on asyncio streams: keep-alive connections, bounded in count and time,
loopback only. Light enough that the server, not the client, is what gets measured."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else 0.0

    def summary(self) -> str:
        return (
            f"{self.rate:8,.0f} msg/s   p50 {self.percentile(0.5):6.1f} ms   p99 {self.percentile(0.99):6.1f} ms"
            f"   statuses {dict(sorted(self.statuses.items()))}"
        )


async def _send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, request: Request) -> int:
    head = (
        f"POST {request.path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {len(request.body)}\r\n\r\n"
    ).encode()
    writer.write(head + request.body)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    length, chunked = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        lower = line.lower()
        if lower.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        chunked = chunked or (lower.startswith(b"transfer-encoding:") and b"chunked" in lower)
    await (_read_chunks(reader) if chunked else reader.readexactly(length))
    return int(status_line.split()[1])


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while size := int((await reader.readline()).strip() or b"0", 16):
        body += await reader.readexactly(size + 2)
    await reader.readline()
    return body


async def _connection(host: str, port: int, queue: asyncio.Queue[tuple[float, Request] | None], result: Result) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (item := await queue.get()) is not None:
            due, request = item
            started = due or time.perf_counter()  # unpaced: from when this connection sent it
            status = await _send(reader, writer, f"{host}:{port}", request)
            while status == 503:  # as WeChat does when it gets no answer: deliver the same push again
                status = await _send(reader, writer, f"{host}:{port}", request)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run(
    host: str,
    port: int,
    requests: Sequence[Request],
    *,
    connections: int,
    rate: float | None = None,
    deadline_s: float = 120.0,
) -> Result:
    """Send every request: as fast as the server answers, or paced at ``rate`` per second (open loop:
    latency counts from when each request was due, so a server falling behind shows it)."""
    queue: asyncio.Queue[tuple[float, Request] | None] = asyncio.Queue()
    result = Result()
    workers = [asyncio.create_task(_connection(host, port, queue, result)) for _ in range(connections)]
    start = time.perf_counter()
    for index, request in enumerate(requests):
        due = start + index / rate if rate else 0.0
        if rate:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        queue.put_nowait((due, request))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), timeout=deadline_s)
    result.elapsed = time.perf_counter() - start
    return result


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0
