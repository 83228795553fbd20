"""Run a media worker: WHIP ingest → decode once → encode once → HLS."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from django.core.management.base import BaseCommand

from live.video.worker.server import MediaWorker


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        worker = MediaWorker()
        serving = asyncio.ensure_future(worker.serve())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, serving.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        # serve()'s finally ended every session, so each recording has its ENDLIST.
