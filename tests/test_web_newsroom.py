"""The newsroom page end to end: real server (`qa serve`), real index, Debian chromium via Playwright.

Its own server and index (module-scoped), so the articles it adds (a hostile one among
them) never change what the shared `live` server answers. Covers: answers staying visible
above the composer, conversations kept across reload/Back/share, filters, stop, copy,
the library (upload, drag and drop, delete), the stance table, the timeline with a
year-less date, dark mode and contrast, phone width, and markup in article data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer

try:  # skipped only until the real service exists
    from qa_service.service import build_service  # noqa: F401
except ImportError as exc:  # pragma: no cover
    pytest.skip(f"build_service not available yet: {exc}", allow_module_level=True)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "articles"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
KEY = "newsroom-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
PAGES = ["/", "/library", "/positions", "/positions/actor/Mark%20Rutte", "/timeline"]
XSS = "window.__xss=1"
HOSTILE = {
    "id": "hostile-harbour",
    "title": f'<img src=x onerror="{XSS}"><script>{XSS}</script> Harbour plan',
    "source": f'<b onmouseover="{XSS}">Harbour Gazette</b>',
    "published_at": "2024-06-03",
    "body": (f"Mayor Jane Doe said that the <script>{XSS}</script> harbour plan would fail.\n\n"
             f'On 5 June 2024 the council approved the <img src=x onerror="{XSS}"> harbour budget, '
             "officials said."),
}


def dated_record(txt: Path, article_id: str) -> dict[str, str]:
    """A bundled .txt article with its sidecar's date and outlet, as a feed line (uploads carry no sidecar)."""
    lines = txt.read_text().split("\n\n")
    meta = json.loads(txt.with_suffix(".meta.json").read_text())
    return {"id": article_id, "title": lines[0].strip(), "source": meta["source"],
            "published_at": meta["published"], "body": "\n\n".join(lines[1:])}


def upload(url: str, name: str, data: bytes) -> list[str]:
    r = httpx.post(f"{url}/api/articles", headers=AUTH, timeout=180,
                   files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    report = r.json()
    return report["added"] + report["updated"] + report["unchanged"]


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    index = tmp_path_factory.mktemp("newsroom-index")
    server = LiveServer({"QA_INDEX_DIR": str(index), "QA_API_KEY": KEY, "QA_GENERATOR": "extractive"},
                        index.parent / "newsroom-server.log")
    try:
        server.wait("/healthz", timeout=240)
        # The seed without its sidecar: no publication date, so "December 3" has no year.
        seed = upload(server.url, "nato-ukraine-military-aid.txt",
                      (DATA / "nato-ukraine-military-aid.txt").read_bytes())
        feed = [dated_record(DATA / "coffee-prices-brazil-frost.txt", "coffee-frost"),
                dated_record(DATA / "alpine-water-pact.txt", "alpine-water"), HOSTILE]
        ids = upload(server.url, "newsroom.jsonl", "\n".join(json.dumps(r) for r in feed).encode())
        yield {"url": server.url, "seed": seed[0], "ids": ids, "server": server}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Tab:
    """A page in a fresh context that records script errors and any request off the server."""

    def __init__(self, browser: Any, url: str, width: int = 1280, height: int = 800, scheme: str = "light",
                 key: bool = True) -> None:
        self.url = url
        self.context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
        self.outside: list[str] = []
        self.context.route("**/*", lambda route: (
            route.continue_() if route.request.url.startswith(url) or route.request.url.startswith("data:")
            else (self.outside.append(route.request.url), route.abort())))
        if key:
            self.context.add_init_script(f"localStorage.setItem('qa_api_key', {KEY!r})")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def goto(self, path: str) -> Any:
        self.page.goto(self.url + path)
        if path.startswith(("/library", "/positions", "/timeline")):
            self.page.wait_for_selector("#status[data-loaded]", timeout=60_000)
        return self.page

    def close(self) -> None:
        assert self.errors == [] and self.outside == []
        self.context.close()


@pytest.fixture
def tab(chromium: Any, newsroom: dict) -> Iterator[Tab]:
    t = Tab(chromium, newsroom["url"])
    yield t
    t.close()


def ask(page: Any, question: str) -> None:
    """Type a question, send it with Enter, wait until its answer has finished."""
    done = page.locator(".msg.assistant:not(.pending)").count()
    page.fill("#message", question)
    page.press("#message", "Enter")
    page.wait_for_function("n => document.querySelectorAll('#history .msg.assistant:not(.pending)').length > n",
                           arg=done, timeout=90_000)


def assert_newest_answer_visible(page: Any) -> None:
    """The newest answer's top is on screen, below the conversation's top and above the composer,
    with all of it (or at least 120 px) in view, and nothing covers it (the element at that
    point belongs to the answer)."""
    answer = page.locator("#history .msg.assistant").last
    box = answer.bounding_box()
    composer = page.locator("#ask").bounding_box()
    scroller = page.locator("#scroller").bounding_box()
    viewport = page.viewport_size
    assert scroller["y"] - 1 <= box["y"], (box, scroller)
    assert box["y"] + 24 <= composer["y"], (box, composer)
    in_view = min(box["y"] + box["height"], composer["y"]) - box["y"]
    assert in_view >= min(box["height"], 120) - 1, (box, composer)
    assert composer["y"] + composer["height"] <= viewport["height"] + 1
    on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('.msg.assistant') === "
                           "[...document.querySelectorAll('#history .msg.assistant')].pop()",
                           [box["x"] + 12, box["y"] + 12])
    assert on_top


def no_sideways_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"
                         " && [...document.querySelectorAll('.scroller')].every(s => s.scrollWidth <= s.clientWidth + 1)")


# Text elements whose colour against their effective background is below WCAG AA.
CONTRAST_JS = """() => {
  const parse = (c) => { const m = /rgba?\\(([^)]+)\\)/.exec(c); if (!m) return null;
    const p = m[1].split(',').map(parseFloat); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const mix = (top, base) => ({r: top.r * top.a + base.r * (1 - top.a), g: top.g * top.a + base.g * (1 - top.a),
    b: top.b * top.a + base.b * (1 - top.a), a: 1});
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = {r: 255, g: 255, b: 255, a: 1};
    if (layers.length && layers[layers.length - 1].a >= 1) base = layers.pop();
    for (const l of layers.reverse()) base = mix(l, base);
    return base;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const bad = [];
  const check = (node, colour, what) => {
    const style = getComputedStyle(node);
    const bg = background(node);
    let fg = parse(colour); if (!fg) return;
    if (fg.a < 1) fg = mix(fg, bg);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    const r = ratio(fg, bg);
    if (r < need) bad.push(`${node.tagName}.${node.className} ${what} ${JSON.stringify(node.textContent.trim().slice(0, 40))}: ${r.toFixed(2)}`);
  };
  for (const node of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'OPTION', 'TITLE'].includes(node.tagName) || node.closest('[disabled], [hidden]')) continue;
    const rect = node.getBoundingClientRect();
    if (!rect.width || !rect.height || getComputedStyle(node).visibility !== 'visible') continue;
    if (node.clientWidth <= 1 && node.clientHeight <= 1 && getComputedStyle(node).overflow === 'hidden') continue;  // visually hidden
    const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (own) check(node, getComputedStyle(node).color, 'text');
    if ((node.tagName === 'INPUT' || node.tagName === 'TEXTAREA') && node.placeholder && !node.value)
      check(node, getComputedStyle(node, '::placeholder').color, 'placeholder');
  }
  return bad;
}"""


# ---------------------------------------------------------------------------- chat


def test_five_questions_in_a_row_each_answer_visible_above_the_composer(tab: Tab) -> None:
    page = tab.goto("/")
    questions = ["Who is NATO's new Secretary General?", "What is Rutte's position on peace talks?",
                 "And what did the Kremlin say about that?", "What did Zelensky acknowledge?",
                 "Why did coffee prices rise?"]
    for n, question in enumerate(questions, 1):
        ask(page, question)
        assert page.locator("#history .msg.assistant").count() == n
        assert_newest_answer_visible(page)
    # The condensed follow-up says how it was understood.
    third = page.locator("#history .msg.assistant").nth(2)
    interpreted = third.locator(".interpreted")
    assert interpreted.is_visible() and "Interpreted as:" in interpreted.text_content()
    assert "peace talks" in interpreted.text_content().lower() or "rutte" in interpreted.text_content().lower()
    assert page.locator("#history .msg.assistant").first.locator(".interpreted").is_hidden()


def test_conversation_survives_reload_back_nav_and_a_shared_link(tab: Tab, chromium: Any, newsroom: dict) -> None:
    page = tab.goto("/")
    first = "Who is NATO's new Secretary General?"
    ask(page, first)
    ask(page, "What is Rutte's position on peace talks?")
    assert re.search(r"/c/[0-9a-f]+$", page.url), page.url
    conversation_url = page.url
    page.wait_for_selector("#history .msg.assistant:nth-child(4)[data-kept]")  # both answers kept
    answers = page.locator("#history .msg.assistant .msg-body").all_text_contents()

    def restored() -> None:
        page.wait_for_function("() => document.querySelectorAll('#history .msg.assistant').length === 2", timeout=30_000)
        assert page.locator("#history .msg.assistant .msg-body").all_text_contents() == answers
        assert page.locator("#history .msg.assistant .cite").count() > 0  # sources came back too
        assert page.url == conversation_url

    # It is listed with its first question as title, marked current.
    page.wait_for_selector("#conv-list a[aria-current='page']")
    assert page.text_content("#conv-list a[aria-current='page'] .conv-title") == first

    page.reload()
    restored()

    page.locator("#history .msg.assistant .cite").first.click()
    page.click("#panel-link")
    page.wait_for_selector(".para-item.target")
    page.go_back()
    restored()

    page.goto(newsroom["url"] + "/library")
    page.click("nav >> text=Chat")  # "/" reopens the current conversation
    page.wait_for_url(conversation_url)
    restored()

    other = Tab(chromium, newsroom["url"])  # another browser with the link
    try:
        other.page.goto(conversation_url)
        other.page.wait_for_function("() => document.querySelectorAll('#history .msg.assistant .cite').length > 0")
        assert other.page.locator("#history .msg.assistant .msg-body").all_text_contents() == answers
    finally:
        other.close()

    page.click("#new-conversation")
    assert page.url == newsroom["url"] + "/" and page.locator("#history li").count() == 0
    page.go_back()
    restored()


def test_citation_preview_copy_stop_and_counter(chromium: Any, newsroom: dict) -> None:
    t = Tab(chromium, newsroom["url"])
    t.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=newsroom["url"])
    page = t.goto("/")
    ask(page, "Who is NATO's new Secretary General?")
    cite = page.locator("#history .msg.assistant .cite").first
    cite.hover()
    page.wait_for_selector("#preview:not([hidden])")
    assert page.text_content("#preview .preview-quote")
    assert cite.get_attribute("aria-describedby") == "preview"
    page.mouse.move(1, 1)
    cite.focus()  # keyboard users get the same preview
    assert page.locator("#preview").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#preview").is_hidden()

    # Sources grouped by article: one group per cited article.
    groups = page.locator("#history .msg.assistant .source-group")
    titles = groups.locator(".source-title").all_text_contents()
    assert titles and len(titles) == len(set(titles))

    page.click("#history .msg.assistant .tools button")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Sources:" in copied and "Rutte" in copied

    held: list[Any] = []
    page.route("**/api/chat/stream", lambda route: held.append(route))  # the answer never arrives
    page.fill("#message", "What did Zelensky acknowledge?")
    page.press("#message", "Enter")
    page.wait_for_selector("#stop:not([hidden])")
    assert page.locator("#send").is_hidden()
    page.click("#stop")
    page.wait_for_selector("#history .msg.assistant.stopped")
    assert page.locator("#send").is_visible() and page.locator("#stop").is_hidden()
    page.unroute("**/api/chat/stream")

    long_text = "x" * 2001
    page.fill("#message", long_text)
    assert "2001 / 2000" in page.text_content("#counter")
    assert page.locator("#counter.over").count() == 1 and page.locator("#send").is_disabled()
    page.fill("#message", "short")
    assert page.text_content("#counter").startswith("5 / 2000") and page.locator("#send").is_enabled()
    t.close()


def test_filters_are_chips_outlets_match_any_case_and_refusals_link_paragraphs(tab: Tab) -> None:
    page = tab.goto("/")
    # The outlet list loads after the page (/api/outlets); typed before it, an outlet is sent as typed.
    page.wait_for_function("() => document.querySelectorAll('#outlet-options option').length > 0")
    page.click("#filters summary")
    page.fill("#f-source", "commodities desk")
    page.press("#f-source", "Tab")
    assert page.input_value("#f-source") == "Commodities Desk"  # the stored spelling
    assert page.text_content("#chips") .startswith("Outlet: Commodities Desk")
    assert "(1 on)" in page.text_content("#filters summary")

    page.fill("#f-source", "Nowhere Times")
    page.press("#f-source", "Tab")
    assert "No outlet is called" in page.text_content("#filter-error")
    assert page.get_attribute("#f-source", "aria-invalid") == "true"
    page.fill("#f-source", "Commodities Desk")
    page.fill("#f-from", "2024-12-10")
    page.fill("#f-to", "2024-12-01")
    page.press("#f-to", "Tab")
    error = page.text_content("#filter-error")
    assert "is after" in error and "10 December 2024" in error
    page.fill("#message", "Who is NATO's new Secretary General?")
    page.press("#message", "Enter")
    assert page.locator("#history li").count() == 0  # nothing is sent with a reversed range
    page.locator(".chip-remove").last.focus()  # chips are removable from the keyboard
    page.keyboard.press("Enter")
    page.locator(".chip-remove").last.press("Enter")
    assert page.locator("#filter-error").is_hidden()
    assert page.locator(".chip").all_text_contents() == ["Outlet: Commodities Desk\u00d7"]

    ask(page, "Who is NATO's new Secretary General?")  # the coffee outlet cannot answer it
    answer = page.locator("#history .msg.assistant").last
    assert "abstained" in answer.get_attribute("class")
    assert "Outlet: Commodities Desk" in answer.locator(".filter-note").text_content()
    links = answer.locator(".closest-list a")
    assert links.count() >= 1
    assert all(h.startswith("/articles/coffee-frost#") for h in
               [links.nth(i).get_attribute("href") for i in range(links.count())])
    answer.locator(".filter-note button").click()  # ask again without filters
    page.wait_for_function("() => document.querySelectorAll('#history .msg.assistant:not(.pending)').length === 2")
    assert page.locator("#chips").is_hidden()
    assert page.locator("#history .msg.assistant").last.locator(".cite").count() > 0


# ---------------------------------------------------------------------------- library


def test_library_lists_uploads_and_deletes(tab: Tab, newsroom: dict, tmp_path: Path) -> None:
    page = tab.goto("/library")
    total = httpx.get(newsroom["url"] + "/api/library", headers=AUTH).json()["total"]
    assert page.locator("#article-rows tr").count() == total
    coffee = page.locator("#article-rows tr", has_text="Coffee prices")
    assert coffee.locator("td").nth(1).text_content() == "Commodities Desk"
    assert coffee.locator("td").nth(2).text_content() == "1 August 2024"
    assert int(coffee.locator("td").nth(3).text_content()) >= 5
    page.fill("#search", "commodities")
    assert page.locator("#article-rows tr").count() == 1
    page.fill("#search", "")

    good = tmp_path / "ferry-strike.md"
    good.write_text("# Ferry workers strike in Calais\n\nFerry workers in Calais walked out on Friday over pay.\n\n"
                    "The union said the strike would last two days.\n")
    bad = tmp_path / "notes.xyz"
    bad.write_text("not an article format")
    page.set_input_files("#files", [str(good), str(bad)])
    page.wait_for_function("() => document.querySelectorAll('#uploads .upload.done, #uploads .upload.failed').length === 2",
                           timeout=120_000)
    ok = page.locator("#uploads .upload", has_text="ferry-strike.md")
    assert "done" in ok.get_attribute("class") and "added 1 article" in ok.text_content()
    assert ok.locator("progress").get_attribute("value") == "1"
    failed = page.locator("#uploads .upload", has_text="notes.xyz")
    assert "failed" in failed.get_attribute("class") and "could not ingest" in failed.text_content()
    page.wait_for_selector("#article-rows tr:has-text('Ferry workers strike in Calais')")

    # Drag and drop: a drop event carrying a file, as a browser sends it.
    page.evaluate("""() => {
      const data = new DataTransfer();
      data.items.add(new File(["Tram line opens in Lyon\\n\\nThe new tram line in Lyon opened on Monday."],
                              "tram-lyon.txt", {type: "text/plain"}));
      const zone = document.getElementById('dropzone');
      zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
      zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    }""")
    page.wait_for_selector("#uploads .upload.done:has-text('tram-lyon.txt')", timeout=120_000)
    page.wait_for_selector("#article-rows tr:has-text('Tram line opens in Lyon')")

    # Delete from the keyboard: the confirmation starts on Cancel.
    row = page.locator("#article-rows tr", has_text="Ferry workers strike in Calais")
    article_id = row.get_attribute("data-id")
    row.locator("button.delete").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog.confirm[open]")
    assert page.evaluate("document.activeElement.textContent") == "Cancel"
    page.keyboard.press("Enter")  # cancelled: still there
    assert page.locator("#article-rows tr", has_text="Ferry workers strike in Calais").count() == 1
    row.locator("button.delete").click()
    page.wait_for_selector("dialog.confirm[open]")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#article-rows tr:has-text('Ferry workers strike in Calais')", state="detached")
    assert "Deleted" in page.text_content("#status")
    assert httpx.get(f"{newsroom['url']}/api/articles/{article_id}", headers=AUTH).status_code == 404


# ---------------------------------------------------------------------------- stance table, actor, timeline


def test_stance_table_filters_and_actor_page(tab: Tab) -> None:
    page = tab.goto("/positions")
    assert page.locator("#stance-table").is_visible()
    assert page.locator("#results tr").count() > 1
    rutte = page.locator("#actor-options input[value='Mark Rutte']")
    rutte.focus()
    page.keyboard.press("Space")
    page.wait_for_selector("#status[data-loaded]")
    assert page.locator("#results tr th[scope=row] a").all_text_contents() == ["Mark Rutte"]
    assert "actor=Mark+Rutte" in page.url
    page.locator("#topic-options input[value='peace talks']").check()
    page.wait_for_selector("#status[data-loaded]")
    assert page.locator("#stance-head th").all_text_contents() == ["Actor", "peace talks"]
    verbs = page.locator("#results .stance-verb").all_text_contents()
    assert "dismissed" in verbs and "dismiss" not in verbs
    for cell in page.locator("#results td").all():
        hrefs = [a.get_attribute("href") for a in cell.locator("a.stance-verb").all()]
        assert len(hrefs) == len(set(hrefs))  # one sentence, one entry
        assert all(h.startswith("/articles/") and "#" in h for h in hrefs)
    link = page.locator("#results .stance-verb", has_text="dismissed").first
    link.hover()
    page.wait_for_selector("#preview:not([hidden])")
    assert "peace talks" in page.text_content("#preview .preview-quote")

    page.reload()  # the choice is in the URL
    page.wait_for_selector("#status[data-loaded]")
    assert page.locator("#actor-options input[value='Mark Rutte']").is_checked()
    assert page.locator("#stance-head th").all_text_contents() == ["Actor", "peace talks"]

    page.locator("#actor-filter").fill("pesk")
    assert page.locator("#actor-options input[value='Dmitry Peskov']").count() == 1
    assert page.locator("#actor-options input[value='Volodymyr Zelensky']").count() == 0

    page.click("#results th[scope=row] a")
    page.wait_for_selector("#status[data-loaded]")
    assert page.text_content("#actor-name") == "Mark Rutte"
    verbs = page.locator("#results .stance-verb").all_text_contents()
    assert len(verbs) >= 3 and all(v.endswith(("ed", "said", "told")) or " " in v for v in verbs), verbs


def test_timeline_in_order_with_a_yearless_date_last(tab: Tab) -> None:
    page = tab.goto("/timeline")
    sections = page.locator("#results .tl-year")
    assert sections.count() >= 3
    assert sections.last.locator(".tl-year-title").text_content() == "Year not stated"
    yearless = sections.last.locator(".event")
    assert yearless.count() >= 2
    texts = yearless.all_text_contents()
    assert any("3 December" in t and "\u201cDecember 3\u201d" in t and "year unknown" in t for t in texts), texts
    dated = page.locator("#results .tl-year:not(.yearless) .event time").evaluate_all(
        "ts => ts.map(t => t.getAttribute('datetime'))")
    assert dated == sorted(dated) and dated[0] == "1994"
    coffee = page.locator("#results .event", has_text="Prices for delivery")
    assert coffee.locator("time").first.text_content() == "September 2024"
    assert "\u201cSeptember\u201d" in coffee.first.text_content()
    source = page.locator("#results .event-source").first
    assert source.get_attribute("href").startswith("/articles/") and "#" in source.get_attribute("href")

    before = page.locator("#results .event").count()
    page.select_option("#actor", "Russia")
    page.wait_for_selector("#status[data-loaded]")
    after = page.locator("#results .event").count()
    assert 0 < after < before and "actor=Russia" in page.url


# ---------------------------------------------------------------------------- looks: dark, contrast, phone


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_meets_aa_contrast(chromium: Any, newsroom: dict, scheme: str) -> None:
    t = Tab(chromium, newsroom["url"], scheme=scheme)
    page = t.goto("/")
    ask(page, "Who is NATO's new Secretary General?")
    page.locator("#history .msg.assistant .cite").first.click()  # the panel with its marked quote
    page.click("#filters summary")
    luminance = page.evaluate("""() => { const m = getComputedStyle(document.body).backgroundColor.match(/\\d+/g);
      return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255; }""")
    assert (luminance < 0.2) if scheme == "dark" else (luminance > 0.8)
    assert page.evaluate(CONTRAST_JS) == []
    for path in [*PAGES[1:], f"/articles/{newsroom['seed']}"]:
        page = t.goto(path)
        page.wait_for_timeout(300)
        assert page.evaluate(CONTRAST_JS) == [], path
    t.close()


def test_phone_width_every_page_and_answers_visible_after_a_refusal(chromium: Any, newsroom: dict) -> None:
    t = Tab(chromium, newsroom["url"], width=390, height=844)
    page = t.goto("/")
    ask(page, "What is the price of tea in Kenya?")
    assert "abstained" in page.locator("#history .msg.assistant").last.get_attribute("class")
    assert_newest_answer_visible(page)
    ask(page, "Who is NATO's new Secretary General?")
    assert_newest_answer_visible(page)
    assert no_sideways_scroll(page)
    page.click("#convs-toggle")  # the conversation list is a drawer on phones
    assert page.locator("#convs").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#convs").is_hidden()
    for path in [*PAGES[1:], f"/articles/{newsroom['seed']}"]:
        page = t.goto(path)
        page.wait_for_timeout(300)
        assert no_sideways_scroll(page), path
    t.close()


# ---------------------------------------------------------------------------- markup in article data


def test_markup_in_titles_outlets_and_bodies_stays_text_on_every_page(tab: Tab, newsroom: dict) -> None:
    def clean(page: Any) -> None:
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("body img, body script, body b").count() == 0

    page = tab.goto("/")
    ask(page, "What did Mayor Jane Doe say about the <b>harbour</b> plan?")
    answer = page.locator("#history .msg.assistant").last
    assert answer.locator(".cite").count() > 0
    assert "<script>" in answer.locator(".source-title").first.text_content()
    answer.locator(".cite").first.hover()
    page.wait_for_selector("#preview:not([hidden])")
    assert "<b onmouseover" in page.text_content("#preview .preview-meta")
    answer.locator(".cite").first.click()
    assert "<script>" in page.text_content("#panel-text")
    page.wait_for_selector("#conv-list .conv-title:has-text('<b>harbour</b>')")
    clean(page)
    page.wait_for_selector("#history .msg.assistant[data-kept]")
    page.reload()
    page.wait_for_selector("#history .msg.assistant .cite")
    clean(page)

    page = tab.goto("/library")
    row = page.locator("#article-rows tr", has_text="Harbour plan")
    assert "<img src=x" in row.text_content() and "<b onmouseover" in row.text_content()
    clean(page)

    page = tab.goto("/positions?actor=Jane+Doe")
    assert "<script>" in page.text_content("#results")
    page.locator("#results .stance-verb").first.hover()
    assert "<img" in page.text_content("#preview .preview-title")
    clean(page)

    page = tab.goto("/positions/actor/Jane%20Doe")
    assert "<script>" in page.text_content("#results")
    clean(page)

    page = tab.goto("/timeline")
    assert "<img src=x" in page.locator("#results .event", has_text="harbour budget").text_content()
    clean(page)

    page = tab.goto("/articles/" + next(i for i in newsroom["ids"] if "hostile" in i))
    page.wait_for_selector(".para-item")
    assert "<script>" in page.text_content("#article-title") and "<b onmouseover" in page.text_content("#article-meta")
    clean(page)
