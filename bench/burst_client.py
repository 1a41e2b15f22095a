#!/usr/bin/env python3
"""Flash-crowd client for bench/burst.sh: N connections opened at once to a loopback server,
each doing one HTTP/1.1 request (TLS or cleartext), counted as served (200 with the whole body)
or failed (with why). Bounded: at most --max-conns sockets, every client under --timeout.

  burst_client.py burst --port P [--tls] --conns N [--path /small.txt]
  burst_client.py idle  --port P [--tls] --idle M --conns N --probe-secs S

`idle` first holds M TCP connections that send nothing, then starts the burst of N and, every
second for S seconds, one probe request; prints the burst's counts and each probe's result.
"""

import argparse
import asyncio
import collections
import ssl
import sys
import time

MAX_CONNS = 8000


def context(tls):
    if not tls:
        return None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


async def one(port, ctx, path, timeout, start):
    """One client: connect, send one request, read to the end. Returns "ok" or why not."""
    await start.wait()
    writer = None
    try:
        async def go():
            nonlocal writer
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, server_hostname="localhost" if ctx else None
            )
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            data = await reader.read()
            head = data.split(b"\r\n", 1)[0]
            if b" 200 " not in head + b" ":
                return f"status {head[:40]!r}" if head else "EOF before a response"
            return "ok"

        return await asyncio.wait_for(go(), timeout)
    except asyncio.TimeoutError:
        return f"no answer within {timeout:.0f} s"
    except (ConnectionError, ssl.SSLError, OSError) as err:
        return type(err).__name__
    finally:
        if writer is not None:
            writer.close()


async def burst(port, ctx, conns, path, timeout):
    start = asyncio.Event()
    tasks = [asyncio.create_task(one(port, ctx, path, timeout, start)) for _ in range(conns)]
    await asyncio.sleep(0)
    began = time.monotonic()
    start.set()
    results = await asyncio.gather(*tasks)
    return collections.Counter(results), time.monotonic() - began


def report(label, counts, secs):
    served = counts.pop("ok", 0)
    failed = sum(counts.values())
    why = ", ".join(f"{n}x {r}" for r, n in counts.most_common(3))
    print(f"{label}\tserved={served}\tfailed={failed}\tsecs={secs:.1f}" + (f"\t({why})" if why else ""))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["burst", "idle"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--idle", type=int, default=1500)
    ap.add_argument("--probe-secs", type=int, default=10)
    ap.add_argument("--path", default="/small.txt")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    if a.conns + (a.idle if a.mode == "idle" else 0) > MAX_CONNS:
        sys.exit(f"at most {MAX_CONNS} connections")
    ctx = context(a.tls)
    if a.mode == "burst":
        counts, secs = await burst(a.port, ctx, a.conns, a.path, a.timeout)
        report(a.label, counts, secs)
        return
    held = []
    for _ in range(a.idle):
        try:
            held.append(await asyncio.open_connection("127.0.0.1", a.port))
        except OSError as err:
            print(f"idle connection refused: {err}", file=sys.stderr)
            break
    print(f"{a.label}\tholding {len(held)} idle TCP connections", file=sys.stderr)

    async def probes():
        out = []
        for _ in range(a.probe_secs):
            t = time.monotonic()
            r = await one(a.port, ctx, a.path, a.timeout, ready)
            out.append((r, time.monotonic() - t))
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
        return out

    ready = asyncio.Event()
    ready.set()
    probe_task = asyncio.create_task(probes())
    counts, secs = await burst(a.port, ctx, a.conns, a.path, a.timeout)
    report(a.label + " burst", counts, secs)
    results = await probe_task
    ok = [t for r, t in results if r == "ok"]
    worst = max(ok) if ok else float("nan")
    print(f"{a.label} probes\tserved={len(ok)}\tfailed={len(results) - len(ok)}\tslowest={worst:.2f}s")
    for _, writer in held:
        writer.close()


if __name__ == "__main__":
    asyncio.run(main())
