"""The ``hub`` command: run the whole product with one command, or reach manage.py.

``hub run`` supervises the three processes LiveHub needs (Daphne for HTTP and WebSockets,
a Celery worker, Celery beat) so the embedded setup needs no process manager. Production
runs the same three commands as separate containers instead (see ``deploy/``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from types import FrameType

SHUTDOWN_GRACE_SECONDS = 20.0


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    # Handled before argparse so options like --noinput reach Django untouched.
    if args[:1] == ["manage"]:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["hub manage", *args[1:]])
        return

    parser = argparse.ArgumentParser(prog="hub", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the web server, a Celery worker and beat")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run.add_argument("--host", default="127.0.0.1")
    commands.add_parser("manage", help="any manage.py command, e.g. `hub manage migrate`")
    options = parser.parse_args(args)
    sys.exit(run_all(host=options.host, port=options.port))


def _commands(*, host: str, port: int) -> dict[str, list[str]]:
    from django.conf import settings

    python = sys.executable
    schedule = settings.DATA_DIR / "celerybeat-schedule"
    commands = {
        "web": [python, "-m", "daphne", "-b", host, "-p", str(port), "hub.asgi:application"],
        "worker": [
            *(python, "-m", "celery", "-A", "hub", "worker"),
            *("--pool=threads", "--concurrency=4", "-l", "INFO"),
        ],
        "beat": [
            *(python, "-m", "celery", "-A", "hub", "beat"),
            *("-l", "INFO", "--schedule", str(schedule)),
        ],
        # WHIP ingest → HLS (live.video): media work stays out of the web process.
        "media": [python, str(settings.BASE_DIR / "manage.py"), "run_media_worker"],
    }
    # Marketplace simulators for the demo (channels_sync); LIVEHUB_SYNC_SIMULATORS=0 skips.
    if os.environ.get("LIVEHUB_SYNC_SIMULATORS", "1") != "0":
        commands["simulators"] = [
            *(python, "-m", "django", "run_sync_simulators"),
            *("--webhook-base", f"http://{host}:{port}"),
        ]
    return commands


def run_all(*, host: str, port: int) -> int:
    """Start every process, forward stop signals, and stop all when one exits.

    Children get their own session so a terminal Ctrl-C reaches them once, through us,
    rather than twice (a second SIGINT makes Celery skip its warm shutdown).
    """
    children: dict[str, subprocess.Popen[bytes]] = {}

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name, command in _commands(host=host, port=port).items():
        children[name] = subprocess.Popen(command, env=env, start_new_session=True)

    base = f"http://{host}:{port}"
    print(f"LiveHub is running at {base}/", flush=True)
    for label, path in (("admin", "/admin/"), ("API docs", "/api/docs/"), ("health", "/healthz")):
        print(f"  {label:<9} {base}{path}", flush=True)
    _print_payment_demo(base)
    print("Press Ctrl-C to stop.", flush=True)

    while True:
        for name, child in children.items():
            code = child.poll()
            if code is not None:
                print(f"hub: {name} exited with {code}; stopping the others", flush=True)
                _stop(children.values())
                # A child killed by a signal reports -N; shells expect 128 + N.
                return code if code >= 0 else 128 - code
        time.sleep(0.2)


def _print_payment_demo(base: str) -> None:
    """Say where the demo's payment gateways answer (docs/payments.md), when they are on."""
    from django.conf import settings

    if settings.LIVEHUB_PAYMENT_SIMULATORS:
        print(f"  {'payments':<9} {base}/payments/simulator/ (WeChat Pay, Alipay)", flush=True)
    if settings.LIVEHUB_PAYMENT_SANDBOX:
        print(f"  {'':<9} sandbox payments on: never in production", flush=True)


def _stop(children: Iterable[subprocess.Popen[bytes]]) -> None:
    running = [child for child in children if child.poll() is None]
    for child in running:
        child.terminate()
    deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
    for child in running:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
