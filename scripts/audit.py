"""`make audit`: Lighthouse and axe-core on the built PWA, served as in production.

Builds the app (unless ``--no-build``), loads the demo data into a fresh data directory,
serves it with Daphne (HTTP + WebSockets, whitenoise for the assets after collectstatic),
then audits the home page, a live room, a product, checkout, the host console and the
staff console:

- Lighthouse (npm ``lighthouse``, Debian's Chromium, ``--headless=new --no-sandbox``)
  with its default mobile emulation and simulated throttling: accessibility and
  performance scores. Signed-in pages get the demo user's session cookie through
  ``--extra-headers``.
- axe-core (``frontend_pwa/node_modules/axe-core``) in Chromium through Playwright, WCAG
  2.2 AA tags, every violation of any impact counted.
- The initial JavaScript: the entry chunk and its modulepreloads in ``dist/index.html``,
  gzipped (level 9) and summed.

With ``--runs N`` Lighthouse audits every page N times and keeps the median score per
category (a loaded machine moves single scores by several points); the load average is
printed with the table.

Prints one line per page, then as its last line one JSON object:
``{"a11y_min": ..., "perf_min": ..., "axe_violations": ..., "js_kb_gz": ...}``.
``perf_min`` is the minimum over every audited page, as the issue defines it; the
performance bar itself applies to the home page and the live room. Exit status 1 when a
bar is missed (a11y 100 everywhere, performance >= 90 on home and
live room, 0 axe violations, initial JS <= 170 KB gz); ``--no-fail`` always exits 0.
"""

from __future__ import annotations

import argparse
import gzip
import http.cookiejar
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PWA = ROOT / "frontend_pwa"
DIST = PWA / "dist"
LIGHTHOUSE = PWA / "node_modules" / ".bin" / "lighthouse"
AXE = PWA / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHROMIUM = os.environ.get("LIVEHUB_CHROMIUM", "/usr/bin/chromium")
PYTHON = sys.executable

#: The bars of issue #8.
A11Y_BAR = 100
PERF_BAR = 90
PERF_PAGES = ("home", "live-room")
JS_KB_BAR = 170.0


@dataclass
class Page:
    name: str
    path: str
    user: str = ""  #: demo login whose session cookie the page is audited with
    scores: dict[str, float] = field(default_factory=dict)
    axe: list[dict[str, Any]] = field(default_factory=list)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(cmd: list[str], env: dict[str, str], **kwargs: Any) -> str:
    result = subprocess.run(
        cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True, **kwargs
    )
    return result.stdout


# ---- serve the demo -------------------------------------------------------------------------


def demo_env(data_dir: Path) -> dict[str, str]:
    # Serve a copy of the build, so a rebuild meanwhile cannot change the audited app.
    shutil.copytree(DIST, data_dir / "dist")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "LIVEHUB_PWA_DIST": str(data_dir / "dist"),
            "LIVEHUB_DATA_DIR": str(data_dir),
            "LIVEHUB_DEMO": "1",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "hub.settings",
        }
    )
    return env


def load_demo(env: dict[str, str]) -> dict[str, str]:
    """A fresh embedded database with the demo; returns the show code and a product slug."""
    manage = [PYTHON, "manage.py"]
    run([*manage, "migrate", "--noinput", "-v0"], env)
    run([*manage, "collectstatic", "--noinput", "-v0"], env)
    run([*manage, "load_demo_data"], env)
    run([*manage, "load_live_demo"], env)
    run([*manage, "load_checkout_demo"], env)
    out = run(
        [
            *manage,
            "shell",
            "-c",
            "import json; from live.models import Show; from oms.models import Product;"
            "s = Show.objects.order_by('id').first();"
            "p = Product.objects.filter(is_active=True).order_by('id').first();"
            "print(json.dumps({'show': s.code, 'product': p.slug}))",
        ],
        env,
    )
    data: dict[str, str] = json.loads(out.strip().splitlines()[-1])
    return data


def free_port(preferred: int) -> int:
    for port in [preferred, 0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port")


def serve(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "hub.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"the server did not start; see {log_path}") from None
            time.sleep(0.3)


def session_cookie(base: str, username: str) -> str:
    """Sign in as a demo user the way the app does (CSRF cookie, then POST)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/api/session/").read()
    csrf = next(c.value or "" for c in jar if c.name == "csrftoken")
    request = urllib.request.Request(
        f"{base}/api/session/login/",
        data=json.dumps({"username": username, "password": username}).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Referer": base},
        method="POST",
    )
    opener.open(request).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


# ---- measure -------------------------------------------------------------------------------


def initial_js_kb_gz(dist: Path) -> float:
    """The entry script and its modulepreloads, as a first visit downloads them."""
    html = (dist / "index.html").read_text()
    srcs = re.findall(r'<script[^>]+type="module"[^>]+src="([^"]+)"', html)
    srcs += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"', html)
    total = 0
    for src in dict.fromkeys(srcs):
        path = dist / src.split("/static/pwa/", 1)[-1].lstrip("/")
        total += len(gzip.compress(path.read_bytes(), compresslevel=9))
    return round(total / 1024, 1)


def lighthouse_median(
    url: str, cookie: str, out_dir: Path, name: str, runs: int
) -> dict[str, float]:
    """Each category's median score over ``runs`` Lighthouse runs of one page."""
    results = [lighthouse(url, cookie, out_dir, f"{name}-{i}" if i else name) for i in range(runs)]
    if runs > 1:
        log(f"  {name}: perf {[r['perf'] for r in results]}, a11y {[r['a11y'] for r in results]}")
    return {key: statistics.median(r[key] for r in results) for key in ("a11y", "perf")}


def lighthouse(url: str, cookie: str, out_dir: Path, name: str) -> dict[str, float]:
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    report = out_dir / f"{name}.json"
    cmd = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        "--only-categories=performance,accessibility",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        "--max-wait-for-load=45000",
    ]
    if cookie:
        headers = out_dir / f"{name}-headers.json"
        headers.write_text(json.dumps({"Cookie": cookie}))
        cmd.append(f"--extra-headers={headers}")
    for attempt in (1, 2):  # a loaded machine sometimes fails a run; try once more
        done = subprocess.run(cmd, cwd=PWA, env=env, capture_output=True, text=True)
        if done.returncode == 0:
            break
        log(f"  {name}: lighthouse failed (try {attempt}): {done.stderr.strip()[-300:]}")
    else:
        return {"a11y": 0, "perf": 0}
    data = json.loads(report.read_text())
    scores = {k: round(100 * (v["score"] or 0)) for k, v in data["categories"].items()}
    failing = [
        audit_id
        for audit_id, audit in data["audits"].items()
        if audit.get("scoreDisplayMode") == "binary" and audit.get("score") == 0
    ]
    if failing:
        log(f"  {name}: failing audits {failing}")
    return {"a11y": scores["accessibility"], "perf": scores["performance"]}


def axe(pages: list[Page], base: str, cookies: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for page_spec in pages:
            context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
            if page_spec.user:
                context.add_cookies(
                    [
                        {"name": k, "value": v, "url": base}
                        for k, v in (p.split("=", 1) for p in cookies[page_spec.user].split("; "))
                    ]
                )
            page = context.new_page()
            page.goto(base + page_spec.path, wait_until="networkidle")
            page.wait_for_selector("main h1", timeout=20_000)
            page.wait_for_timeout(1_000)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
            )
            page_spec.axe = [
                {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
                for v in result["violations"]
            ]
            context.close()
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="audit the existing dist/")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AUDIT_PORT", "8765")))
    parser.add_argument("--keep", action="store_true", help="keep the data dir and reports")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even if a bar is missed")
    parser.add_argument(
        "--runs", type=int, default=1, help="Lighthouse runs per page; the median counts"
    )
    args = parser.parse_args()
    for need, hint in (
        (LIGHTHOUSE, "cd frontend_pwa && npm ci"),
        (Path(CHROMIUM), "apt-get install chromium"),
    ):
        if not need.exists():
            log(f"{need} missing ({hint})")
            return 2
    if not args.no_build:
        log("building the PWA (npm run build)…")
        subprocess.run(["npm", "run", "build"], cwd=PWA, check=True, stdout=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="livehub-audit-"))
    env = demo_env(work)
    log(f"loading the demo into {work}…")
    demo = load_demo(env)
    port = free_port(args.port)
    base = f"http://127.0.0.1:{port}"
    server = serve(env, port, work / "server.log")
    pages = [
        Page("home", "/"),
        Page("live-room", f"/live/{demo['show']}"),
        Page("product", f"/p/{demo['product']}"),
        Page("checkout", "/checkout", user="shopper"),
        Page("host-console", f"/live/studio/{demo['show']}", user="host"),
        Page("staff-console", "/staff", user="staff"),
    ]
    try:
        cookies = {u: session_cookie(base, u) for u in {p.user for p in pages if p.user}}
        for page in pages:
            log(f"lighthouse {page.name} ({page.path})…")
            page.scores = lighthouse_median(
                base + page.path, cookies.get(page.user, ""), work, page.name, max(1, args.runs)
            )
        log("axe-core…")
        axe(pages, base, cookies)
        js_kb = initial_js_kb_gz(work / "dist")
    finally:
        server.terminate()
        server.wait(timeout=20)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{'page':<15} {'a11y':>5} {'perf':>5} {'axe':>4}")
    for page in pages:
        rules = ",".join(v["id"] for v in page.axe)
        print(
            f"{page.name:<15} {page.scores['a11y']:>5.0f} {page.scores['perf']:>5.0f}"
            f" {len(page.axe):>4} {rules}"
        )
    summary = {
        "a11y_min": min(p.scores["a11y"] for p in pages),
        "perf_min": min(p.scores["perf"] for p in pages),
        "axe_violations": sum(len(p.axe) for p in pages),
        "js_kb_gz": js_kb,
    }
    perf_barred = min(p.scores["perf"] for p in pages if p.name in PERF_PAGES)
    print(f"performance on {' and '.join(PERF_PAGES)} (mobile): {perf_barred:.0f}")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"lighthouse runs per page: {max(1, args.runs)} (median); load average now: {load}")
    met = (
        summary["a11y_min"] >= A11Y_BAR
        and perf_barred >= PERF_BAR
        and summary["axe_violations"] == 0
        and js_kb <= JS_KB_BAR
    )
    print(json.dumps(summary))
    return 0 if met or args.no_fail else 1


if __name__ == "__main__":
    sys.exit(main())
