"""Screenshots of every page at 1280x800 and 390x844 (plus dark mode at 1280x800).

    python scripts/screenshots.py OUTDIR

Ingests the bundled sample articles (data/articles, with their sidecars' dates and outlets)
into a temporary index with `qa ingest`, serves it with `qa serve` on a free loopback port,
asks two questions (the second a follow-up), then opens each page in Debian's chromium
through Playwright (never `playwright install`) and writes OUTDIR/<page>-<width>[-dark].png.
Nothing reaches the network.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
KEY = "screenshot-key"
SIZES = [(1280, 800), (390, 844)]
QUESTIONS = ["What is Rutte's position on peace talks?", "And what did the Kremlin say about that?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def qa(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "qa"), *args]


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"qa serve exited with {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("qa serve did not become ready")


def shoot(browser: Any, url: str, out: Path, width: int, height: int, scheme: str, seed_id: str) -> list[Path]:
    # Reduced motion: no smooth scrolling caught half-way in a screenshot.
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme,
                                  reduced_motion="reduce")
    context.add_init_script(f"localStorage.setItem('qa_api_key', {KEY!r})")
    page = context.new_page()
    suffix = f"-{width}" + ("-dark" if scheme == "dark" else "")
    written: list[Path] = []

    def save(name: str) -> None:
        path = out / f"{name}{suffix}.png"
        page.screenshot(path=str(path))
        written.append(path)

    page.goto(url + "/")
    page.wait_for_selector("#suggestions:not([hidden]), #corpus-summary:not(:empty)", timeout=30_000)
    save("chat-empty")
    for n, question in enumerate(QUESTIONS, 1):
        page.fill("#message", question)
        page.press("#message", "Enter")
        page.wait_for_function("n => document.querySelectorAll('#history .msg.assistant:not(.pending)').length >= n",
                               arg=n, timeout=120_000)
    save("chat-answers")
    page.locator("#history .msg.assistant .cite").last.click()
    page.wait_for_selector("#panel:not([hidden])")
    save("chat")
    for name, path in [("library", "/library"), ("positions", "/positions"),
                       ("actor", "/positions/actor/Mark%20Rutte"), ("timeline", "/timeline")]:
        page.goto(url + path)
        page.wait_for_selector("#status[data-loaded]", timeout=60_000)
        save(name)
    page.goto(f"{url}/articles/{seed_id}#{seed_id}:p3")
    page.wait_for_selector(".para-item.target")
    page.wait_for_timeout(300)
    save("article")
    context.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="qa-screens-") as tmp:
        env = {**os.environ, "QA_INDEX_DIR": tmp, "QA_API_KEY": KEY, "QA_GENERATOR": "extractive"}
        subprocess.run(qa("ingest", str(ROOT / "data" / "articles")), env=env, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "server.log", "w")
        proc = subprocess.Popen(qa("serve", "--host", "127.0.0.1", "--port", str(port)), env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(url, proc)
            articles = httpx.get(url + "/api/library", headers={"X-API-Key": KEY}).json()["articles"]
            seed_id = next(a["article_id"] for a in articles if "NATO" in a["title"])
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                written = []
                for width, height in SIZES:
                    written += shoot(browser, url, args.outdir, width, height, "light", seed_id)
                written += shoot(browser, url, args.outdir, *SIZES[0], "dark", seed_id)
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
