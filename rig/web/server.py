"""``python -m rig.web.server``: the live picture page and its websocket.

Reads the run's messages on stdin, one JSON per line (a ``setup``, then ``state`` after
``state``), keeps the last ``--history-s`` seconds of states, and sends each new one to every
page connected at ``/ws``. A page that connects (or reloads) first gets the setup and the
whole history, so it can scrub back. Prints ``{"url": ...}`` once it listens; ends at end of
input (the run is over) after telling the pages. ``rig view`` serves a recording with the
same :func:`serve`, fed from the file instead of stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections import deque
from pathlib import Path

from aiohttp import WSMsgType, web

from .geometry import PictureGeometry

STATIC = Path(__file__).parent / "static"
#: The longest line (one state) read from the run.
MAX_LINE_BYTES = 64 << 20


class Hub:
    """The setup, the recent states (as sent: JSON text) and the pages listening."""

    def __init__(self, history_s: float):
        self.history_s = history_s
        self.setup: str | None = None
        self.geometry: PictureGeometry | None = None
        self.history: deque[tuple[float, str]] = deque()
        self.latest: dict | None = None
        self.pages: set[web.WebSocketResponse] = set()
        self.ended = False

    async def ingest(self, message: dict) -> None:
        """Take one message of the run (or a recording) and pass it on to every page."""
        kind = message.get("type")
        if kind == "setup":
            self.geometry = PictureGeometry(message)
            self.setup = json.dumps(message)
            self.history.clear()
            await self.broadcast(self.setup)
        elif kind == "state" and self.geometry is not None:
            state = self.geometry.state(message)
            self.latest = state
            text = json.dumps(state)
            t = float(state.get("t", 0.0))
            self.history.append((t, text))
            while self.history and self.history[0][0] < t - self.history_s:
                self.history.popleft()
            await self.broadcast(text)

    async def end(self) -> None:
        self.ended = True
        await self.broadcast(json.dumps({"type": "end"}))

    async def broadcast(self, text: str) -> None:
        pages = list(self.pages)
        results = await asyncio.gather(*(page.send_str(text) for page in pages),
                                       return_exceptions=True)
        for page, result in zip(pages, results):
            if isinstance(result, Exception):
                self.pages.discard(page)

    def welcome(self) -> list[str]:
        """What a page that has just connected needs: the setup, then the history."""
        if self.setup is None:
            return []
        out = [self.setup, '{"type": "history", "states": [' +
               ",".join(text for _, text in self.history) + "]}"]
        if self.ended:
            out.append(json.dumps({"type": "end"}))
        return out


async def _page(_request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _no_icon(_request) -> web.Response:
    return web.Response(status=204)


async def _latest(request) -> web.Response:
    hub: Hub = request.app["hub"]
    return web.json_response({"setup": json.loads(hub.setup) if hub.setup else None,
                              "state": hub.latest, "states_kept": len(hub.history),
                              "ended": hub.ended})


async def _socket(request) -> web.WebSocketResponse:
    hub: Hub = request.app["hub"]
    page = web.WebSocketResponse(heartbeat=20.0)
    await page.prepare(request)
    for text in hub.welcome():
        await page.send_str(text)
    hub.pages.add(page)
    try:
        async for msg in page:              # the page sends nothing; this waits for its close
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        hub.pages.discard(page)
    return page


def make_app(hub: Hub) -> web.Application:
    app = web.Application()
    app["hub"] = hub
    app.router.add_get("/", _page)
    app.router.add_get("/api/latest", _latest)
    app.router.add_get("/favicon.ico", _no_icon)
    app.router.add_get("/ws", _socket)
    app.router.add_static("/static/", STATIC)
    return app


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


async def serve(host: str, port: int, history_s: float, feed, *, linger: bool,
                on_listening=None) -> None:
    """Serve the page at ``host:port`` (0: any free port) while ``feed(hub)`` (a coroutine
    function) feeds it; then, with ``linger``, until cancelled (Ctrl-C)."""
    hub = Hub(history_s)
    runner = web.AppRunner(make_app(hub), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    (on_listening or _print_url)(url_of(host, bound))
    try:
        await feed(hub)
        await hub.end()
        if linger:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(0.2)            # let the pages read the end
    finally:
        await runner.cleanup()


def _print_url(url: str) -> None:
    print(json.dumps({"url": url}), flush=True)


async def feed_from_stdin(hub: Hub) -> None:
    """Pass on each JSON line of stdin until its end."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        await hub.ingest(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rig.web.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--history-s", type=float, default=600.0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the run handles Ctrl-C and ends our input
    try:
        asyncio.run(serve(args.host, args.port, args.history_s, feed_from_stdin, linger=False))
    except OSError as e:                            # the port is taken, the host unknown
        print(json.dumps({"error": str(e)}), flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
