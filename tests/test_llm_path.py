"""The LLM path against a real OpenAI-compatible server (llama.cpp + SmolLM2-135M).

The model is tiny: these tests check the plumbing (prompt fits, text comes back,
streaming streams, limits are honoured), not the quality of its answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from llm_server import MODEL_ALIAS, LlamaServer, llm_server  # noqa: F401  (session fixture)

from qa_service.config import PROJECT_ROOT, Settings
from qa_service.generators.llm_generator import LLMGenerator, condense
from qa_service.llm import load_chat_model
from qa_service.models import RetrievedParagraph
from qa_service.prompts import load_answer_prompt, load_condense_prompt
from qa_service.tokens import count_tokens

pytestmark = pytest.mark.slow

SEED = PROJECT_ROOT / "data" / "articles" / "nato-ukraine-military-aid.txt"


def seed_paragraphs() -> list[RetrievedParagraph]:
    """Body paragraphs of the seed article (category, headline, byline, then paragraphs
    with short headings, which have no final punctuation, between them)."""
    lines = [ln.strip() for ln in SEED.read_text(encoding="utf-8").splitlines() if ln.strip()]
    title, heading = lines[1], None
    out: list[RetrievedParagraph] = []
    for line in lines[3:]:
        if line[-1] not in '.!?"”’':
            heading = line
            continue
        n = len(out) + 1
        out.append(
            RetrievedParagraph(
                paragraph_id=f"nato-ukraine-military-aid:p{n}",
                article_id="nato-ukraine-military-aid",
                title=title,
                text=line,
                score=1.0,
                heading=heading,
                source="Editorial Staff Wire",
                published="2024-12-04",
                number=n,
            )
        )
    return out


def ranked_for(keyword: str) -> list[RetrievedParagraph]:
    """Paragraphs holding `keyword` first, like a retriever would rank them."""
    paragraphs = seed_paragraphs()
    return sorted(paragraphs, key=lambda p: keyword.lower() not in p.text.lower())


@pytest.fixture(scope="module")
def settings(llm_server: LlamaServer, tmp_path_factory: pytest.TempPathFactory) -> Settings:  # noqa: F811
    return Settings(
        index_dir=tmp_path_factory.mktemp("index"),
        generator=f"openai/{MODEL_ALIAS}",
        openai_base_url=llm_server.base_url,
        # Small limits keep each call to a few seconds on a 2-core CI machine.
        llm_max_tokens=64,
        llm_timeout_s=120,
        top_k=4,
        prompt_token_budget=1000,
    )


@pytest.fixture(scope="module")
def generator(settings: Settings) -> LLMGenerator:
    return LLMGenerator(
        load_chat_model(settings.generator, settings),
        load_answer_prompt(settings),
        token_budget=settings.prompt_token_budget,
    )


def test_seed_article_has_paragraphs() -> None:
    paragraphs = seed_paragraphs()
    assert len(paragraphs) >= 8
    assert any("20 new air defense systems" in p.text for p in paragraphs)


def test_generator_answers_from_real_sources(generator: LLMGenerator, settings: Settings) -> None:
    sources = ranked_for("air defense")[:4]
    text = generator.generate("How many air defense systems did Kyiv request from NATO members?", sources)
    assert text.strip()
    usage = generator.last_usage
    assert usage is not None
    assert usage.sources_used == 4 and usage.sources_dropped == 0
    assert 0 < usage.prompt_tokens <= settings.prompt_token_budget
    assert usage.completion_tokens == count_tokens(text)
    # The server counted the same prompt with its own tokenizer: same order of size, within n_ctx.
    assert usage.reported_prompt_tokens is not None
    assert usage.prompt_tokens / 2 < usage.reported_prompt_tokens < 4096
    assert 0 < (usage.reported_completion_tokens or 0) <= settings.llm_max_tokens


def test_budget_drops_whole_paragraphs_before_the_server(llm_server: LlamaServer, tmp_path: Path) -> None:  # noqa: F811
    s = Settings(
        index_dir=tmp_path, openai_base_url=llm_server.base_url, llm_max_tokens=20, prompt_token_budget=700
    )
    gen = LLMGenerator(
        load_chat_model(f"openai/{MODEL_ALIAS}", s), load_answer_prompt(s), s.prompt_token_budget
    )
    sources = seed_paragraphs()
    assert gen.generate("What did Rutte say about peace talks?", sources).strip()
    usage = gen.last_usage
    assert usage is not None and usage.sources_dropped > 0
    assert usage.sources_used + usage.sources_dropped == len(sources)
    assert usage.prompt_tokens <= 700


def test_stream_yields_several_chunks(generator: LLMGenerator) -> None:
    chunks = list(generator.stream("What did Rutte emphasize at the NATO meeting?", ranked_for("Rutte")[:3]))
    assert len(chunks) > 1
    text = "".join(chunks)
    assert text.strip()
    assert generator.last_usage is not None and generator.last_usage.completion_tokens == count_tokens(text)


def test_chat_openai_from_factory_honours_max_tokens(llm_server: LlamaServer, tmp_path: Path) -> None:  # noqa: F811
    s = Settings(index_dir=tmp_path, openai_base_url=llm_server.base_url, llm_max_tokens=8)
    model = load_chat_model(f"openai/{MODEL_ALIAS}", s)
    assert isinstance(model, ChatOpenAI)
    message = model.invoke("Write a long story about a cat.")
    assert str(message.text).strip()
    assert message.usage_metadata is not None
    # LangChain sends max_completion_tokens, which llama.cpp ignores: the factory adds max_tokens.
    assert 0 < message.usage_metadata["output_tokens"] <= 8


def test_condense_with_real_model_returns_a_question(settings: Settings) -> None:
    model = load_chat_model(settings.generator, settings)
    history = [
        {"role": "user", "content": "Who is the new NATO Secretary General?"},
        {"role": "assistant", "content": "Mark Rutte, a former Dutch Prime Minister [1]."},
    ]
    out = condense(model, load_condense_prompt(settings), history, "What did he say about peace talks?")
    # A 135M model may rewrite or ramble; either way we get one line of question text.
    assert out.strip() and "\n" not in out and len(out) <= 300


# --- end to end through the service ---------------------------------------------------


@pytest.fixture(scope="module")
def service(settings: Settings) -> Any:
    from qa_service.service import build_service

    svc = build_service(settings)
    report = svc.ingest([SEED])
    assert not report.failed and report.paragraphs >= 8
    return svc


def assert_citations_verify(answer: Any, service: Any) -> None:
    assert answer.abstained or len(answer.citations) >= 1
    for c in answer.citations:
        assert c.paragraph_text[c.start : c.end] == c.quote and c.quote.strip()
        # the cited text is the stored paragraph, not something the model wrote
        article = service.get_article(c.article_id)
        assert c.paragraph_text in [p.text for p in article.paragraphs]
        assert f"[{c.marker}]" in answer.answer


@pytest.mark.parametrize(
    "question",
    [
        "How many new air defense systems has Kyiv requested from NATO members?",
        "Who is the new Secretary General of NATO?",
        "What is the population of Lisbon?",  # not in the article
    ],
)
def test_service_answers_seed_questions_with_verified_citations(service: Any, question: str) -> None:
    answer = service.ask(question)
    assert answer.generator == f"openai/{MODEL_ALIAS}"
    assert_citations_verify(answer, service)


def test_service_stream_ends_with_verified_answer(service: Any) -> None:
    from qa_service.pipeline import Final, Token

    events = list(service.stream("What did Rutte say about peace talks?"))
    assert isinstance(events[-1], Final)
    answer = events[-1].answer
    assert_citations_verify(answer, service)
    # the real model's words reach the stream only verified: the tokens are the final text
    assert "".join(e.text for e in events if isinstance(e, Token)) == answer.answer
