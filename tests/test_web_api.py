"""Fast tests of what the web pages stand on: page shells from one base template, the
conversation API (list, transcript, verified answer records), outlets and library listings.
The real FastAPI app and a real ConversationStore (SQLite); the service is the in-memory fake."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from api_fakes import FakeQAService
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.config import Settings
from qa_service.conversations import ConversationStore
from qa_service.database import open_database
from qa_service.store import ArticleRecord

KEY = "page-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
STATIC = Path(__file__).resolve().parent.parent / "qa_service" / "web" / "static"


class Records:
    """Stands in for the Chroma store's article records (all the listings read)."""

    def __init__(self, records: list[ArticleRecord]) -> None:
        self.records = records

    def article_records(self) -> dict[str, ArticleRecord]:
        return {r.article_id: r for r in self.records}


def record(article_id: str, title: str, source: str | None, published: str | None, paragraphs: int) -> ArticleRecord:
    return ArticleRecord(article_id=article_id, content_hash="h", origin="o", title=title, source=source,
                         published=published, paragraphs=paragraphs, chunks=paragraphs)


@pytest.fixture
def service(tmp_path: Path) -> FakeQAService:
    fake = FakeQAService()
    fake.article_records = Records([  # type: ignore[method-assign]
        record("a", "Older story", "Example News", "2024-03-05", 2),
        record("b", "Newest story", "example news", "2024-05-01", 7),
        record("c", "Undated story", None, None, 1),
        record("d", "Wire story", "Agence Wire", "2024-04-01", 3),
    ]).article_records
    return fake


@pytest.fixture
def client(service: FakeQAService, tmp_path: Path) -> TestClient:
    app = create_app(Settings(index_dir=tmp_path, api_key=KEY, max_message_chars=1234), service=service)  # type: ignore[arg-type]
    with TestClient(app) as c:
        yield c


PAGES = [("/", "/", "chat.js"), ("/c/abc123", "/", "chat.js"), ("/library", "/library", "library.js"),
         ("/articles/nato-aid", "/library", "article.js"), ("/positions", "/positions", "insights.js"),
         ("/positions/actor/Mark%20Rutte", "/positions", "insights.js"), ("/timeline", "/timeline", "insights.js")]


@pytest.mark.parametrize("path, current, script", PAGES)
def test_every_page_shares_the_base_template(client: TestClient, path: str, current: str, script: str) -> None:
    r = client.get(path)  # shells hold no data: no key needed
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert html.count('<nav aria-label="Views">') == 1
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', html) == [current]
    for href in ("/", "/library", "/positions", "/timeline"):
        assert f'<a href="{href}"' in html
    assert f'src="/static/{script}"' in html and 'src="/static/common.js"' in html
    assert 'data-max-chars="1234"' in html and 'data-writes="key"' in html
    assert 'id="key-dialog"' in html and 'id="preview"' in html
    assert "http://" not in html and "https://" not in html  # nothing from outside


def test_writes_mode_tells_the_library_page_whether_uploads_work(tmp_path: Path, service: FakeQAService) -> None:
    for settings, mode in ((Settings(index_dir=tmp_path), "closed"),
                           (Settings(index_dir=tmp_path, allow_open_writes=True), "open")):
        with TestClient(create_app(settings, service=service)) as c:  # type: ignore[arg-type]
            assert f'data-writes="{mode}"' in c.get("/library").text


def test_articles_path_leads_to_the_library(client: TestClient) -> None:
    r = client.get("/articles", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/library"


def test_static_scripts_build_the_dom_from_text_only() -> None:
    scripts = sorted(STATIC.glob("*.js"))
    assert {p.name for p in scripts} >= {"common.js", "chat.js", "article.js", "insights.js", "library.js"}
    for path in scripts:
        js = path.read_text()
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert banned not in js, f"{path.name} uses {banned}"


def test_outlets_and_library_listings(client: TestClient) -> None:
    assert client.get("/api/outlets").status_code == 401
    outlets = client.get("/api/outlets", headers=AUTH).json()["outlets"]
    # Case variants are distinct stored values (the filter is exact); sorted case-insensitively.
    assert outlets == [{"name": "Agence Wire", "articles": 1}, {"name": "Example News", "articles": 1},
                       {"name": "example news", "articles": 1}]
    lib = client.get("/api/library", headers=AUTH).json()
    assert lib["total"] == 4
    assert [a["article_id"] for a in lib["articles"]] == ["b", "d", "a", "c"]  # newest first, undated last
    assert lib["articles"][0] == {"article_id": "b", "title": "Newest story", "source": "example news",
                                  "published": "2024-05-01", "paragraph_count": 7}


def _conversation(store: ConversationStore, question: str, answer: str) -> str:
    cid = store.new()
    store.append(cid, "user", question, standalone=question + " (standalone)")
    store.append(cid, "assistant", answer)
    return cid


def _answer(service: FakeQAService, cid: str) -> dict:
    text = "Germany pledged 500 air defence missiles to Ukraine [1]."
    para = service.articles["nato-aid"].paragraphs[0]
    quote = "Germany pledged 500 air defence missiles"
    return {
        "question": "What did Germany pledge?", "answer": text, "abstained": False, "conversation_id": cid,
        "citations": [{"marker": 1, "article_id": "nato-aid", "paragraph_id": para.paragraph_id,
                       "title": "NATO allies pledge military aid", "paragraph_text": para.text, "quote": quote,
                       "start": 0, "end": len(quote)}],
        "retrieved": [{"paragraph_id": para.paragraph_id, "article_id": "nato-aid", "title": "NATO allies pledge military aid",
                       "text": para.text, "score": 1.0, "number": 1},
                      {"paragraph_id": "nato-aid:p9", "article_id": "nato-aid", "title": "x", "text": "made up",
                       "score": 0.5}],
    }


def test_conversation_list_transcript_and_kept_answer(client: TestClient, service: FakeQAService) -> None:
    store = service.conversations
    first = _conversation(store, "What did  Germany\npledge?", "Germany pledged 500 air defence missiles to Ukraine [1].")
    second = _conversation(store, "Where did they meet?", "In Brussels.")
    store.new()  # a conversation never asked in is not listed

    assert client.get("/api/conversations").status_code == 401
    listed = client.get("/api/conversations", headers=AUTH).json()["conversations"]
    assert [c["id"] for c in listed] == [second, first]  # most recent first
    assert listed[1]["title"] == "What did Germany pledge?" and listed[1]["turns"] == 2

    answer = _answer(service, first)
    r = client.put(f"/api/conversations/{first}/answer", headers=AUTH, json=answer)
    assert r.status_code == 200, r.text
    got = client.get(f"/api/conversations/{first}", headers=AUTH).json()
    assert got["title"] == "What did Germany pledge?"
    user, assistant = got["turns"]
    assert user["standalone"] == "What did  Germany\npledge? (standalone)"
    kept = assistant["answer"]
    assert kept["citations"][0]["quote"] == "Germany pledged 500 air defence missiles"
    # Only closest paragraphs that exist in the index are kept.
    assert [r["paragraph_id"] for r in kept["retrieved"]] == ["nato-aid:p1"]
    # The same answer cannot be recorded twice.
    assert client.put(f"/api/conversations/{first}/answer", headers=AUTH, json=answer).status_code == 409


def test_answer_records_must_match_the_index(client: TestClient, service: FakeQAService) -> None:
    store = service.conversations
    cid = _conversation(store, "What did Germany pledge?", "Germany pledged 500 air defence missiles to Ukraine [1].")
    forged = _answer(service, cid)
    forged["citations"][0]["quote"] = "Germany pledged 900 air defence missiles"
    forged["citations"][0]["paragraph_text"] = forged["citations"][0]["paragraph_text"].replace("500", "900")
    r = client.put(f"/api/conversations/{cid}/answer", headers=AUTH, json=forged)
    assert r.status_code == 422 and "[1]" in r.json()["detail"]
    other = _answer(service, cid)
    other["answer"] = "Something the conversation never said [1]."
    assert client.put(f"/api/conversations/{cid}/answer", headers=AUTH, json=other).status_code == 409
    assert client.put("/api/conversations/nope/answer", headers=AUTH, json=_answer(service, "nope")).status_code == 404
    assert "answer" not in client.get(f"/api/conversations/{cid}", headers=AUTH).json()["turns"][1]


def test_delete_conversation(client: TestClient, service: FakeQAService) -> None:
    store = service.conversations
    cid = _conversation(store, "Q?", "A.")
    assert client.delete(f"/api/conversations/{cid}", headers=AUTH).json() == {"deleted": cid}
    assert client.get(f"/api/conversations/{cid}", headers=AUTH).status_code == 404
    assert client.delete(f"/api/conversations/{cid}", headers=AUTH).status_code == 404
    assert client.get("/api/conversations", headers=AUTH).json()["conversations"] == []


def test_store_trims_answers_with_their_turns_and_evicts_whole_conversations(tmp_path: Path) -> None:
    store = ConversationStore(open_database(f"sqlite:///{tmp_path / 'c.sqlite3'}"), max_turns=4, max_conversations=2)
    cid = store.new()
    for i in range(3):
        store.append(cid, "user", f"question {i}")
        store.append(cid, "assistant", f"answer {i}")
        assert store.attach_answer(cid, {"answer": f"answer {i}", "citations": []}) == 2 * i + 2
    turns = store.transcript(cid)
    assert [t["content"] for t in turns] == ["question 1", "answer 1", "question 2", "answer 2"]
    assert turns[1]["answer"]["answer"] == "answer 1"
    assert store.summary(cid).title == "question 0"  # the title outlives the trimmed first turn
    with sqlite3.connect(tmp_path / "c.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM conversation_answers").fetchone()[0] == 2
    others = [store.new(), store.new()]
    assert not store.exists(cid) and all(store.exists(o) for o in others)
    with sqlite3.connect(tmp_path / "c.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM conversation_answers").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM conversation_turns").fetchone()[0] == 0  # cascaded


def test_store_imports_a_file_written_before_titles(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"  # where older versions kept conversations (QA_INDEX_DIR)
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, updated REAL NOT NULL);"
            "CREATE TABLE turns (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, role TEXT NOT NULL,"
            " content TEXT NOT NULL, extra TEXT, PRIMARY KEY (conversation_id, seq));"
            "INSERT INTO conversations VALUES ('old', 1.0);"
            "INSERT INTO turns VALUES ('old', 1, 'user', 'an old question', NULL);"
        )
    store = ConversationStore(open_database(f"sqlite:///{tmp_path / 'state.sqlite3'}", legacy_dir=tmp_path))
    assert not path.exists() and (tmp_path / "conversations.sqlite3.imported").exists()
    assert store.history("old") == [{"role": "user", "content": "an old question"}]
    store.append("old", "assistant", "an answer")
    cid = store.new()
    store.append(cid, "user", "a new question")
    assert [(c.id, c.title) for c in store.recent()] == [(cid, "a new question"), ("old", "an old question")]
