"""Fast tests of the LLM path with fake chat models: prompts, packing, factory, condensing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from qa_service.config import PROJECT_ROOT, Settings
from qa_service.errors import GeneratorError, InvalidInputError, PromptError
from qa_service.generators.llm_generator import (
    INSUFFICIENT,
    LLMGenerator,
    clean_condensed,
    condense,
    format_source,
    is_insufficient,
    pack_prompt,
)
from qa_service.llm import load_chat_model
from qa_service.models import RetrievedParagraph
from qa_service.prompts import load_answer_prompt, load_condense_prompt, load_prompt
from qa_service.tokens import count_tokens

BUNDLED_PROMPTS = PROJECT_ROOT / "prompts"


def para(n: int, text: str, title: str = "Article") -> RetrievedParagraph:
    return RetrievedParagraph(
        paragraph_id=f"a:p{n}",
        article_id="a",
        title=title,
        text=text,
        score=1.0 / n,
        heading="Section",
        source="Wire",
        published="2024-12-03",
        number=n,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", prompts_dir=BUNDLED_PROMPTS)


def write_prompt(directory: Path, name: str, text: str) -> Settings:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.txt").write_text(text, encoding="utf-8")
    return Settings(index_dir=directory / "index", prompts_dir=directory)


# --- tokens -------------------------------------------------------------------------


def test_count_tokens_matches_known_cl100k_ids() -> None:
    # "hello world" is [15339, 1917] in cl100k_base; gpt2 would also give 2, so check a longer text too.
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0
    assert count_tokens("NATO foreign ministers met in Brussels.") == 8


# --- prompt files -------------------------------------------------------------------


def test_bundled_prompts_load_with_their_variables(settings: Settings) -> None:
    answer = load_answer_prompt(settings)
    condense_prompt = load_condense_prompt(settings)
    assert answer.variables == {"question", "sources"}
    assert condense_prompt.variables == {"history", "question"}
    assert "INSUFFICIENT" in answer.system and "[1]" in answer.system


def test_missing_prompt_file_raises(tmp_path: Path) -> None:
    s = Settings(index_dir=tmp_path, prompts_dir=tmp_path / "nowhere")
    with pytest.raises(PromptError, match="not found"):
        load_prompt(s, "answer", {"question", "sources"})


def test_prompt_lacking_a_required_variable_raises(tmp_path: Path) -> None:
    s = write_prompt(tmp_path, "answer", "[system]\nBe brief.\n[user]\nQuestion: $question\n")
    with pytest.raises(PromptError, match="lacks variable.*sources"):
        load_prompt(s, "answer", {"question", "sources"})


def test_prompt_with_unknown_variable_raises(tmp_path: Path) -> None:
    s = write_prompt(tmp_path, "answer", "[user]\n$sources\n$question\n$language\n")
    with pytest.raises(PromptError, match="unknown variable.*language"):
        load_prompt(s, "answer", {"question", "sources"})


def test_prompt_without_user_section_or_with_bad_dollar_raises(tmp_path: Path) -> None:
    s = write_prompt(tmp_path, "answer", "[system]\n$sources $question\n")
    with pytest.raises(PromptError, match="no \\[user\\] section"):
        load_prompt(s, "answer", {"question", "sources"})
    s = write_prompt(tmp_path, "answer", "[user]\n$sources $question costs $5\n")
    with pytest.raises(PromptError, match="malformed"):
        load_prompt(s, "answer", {"question", "sources"})


def test_format_fills_values_verbatim_and_checks_names(tmp_path: Path) -> None:
    s = write_prompt(tmp_path, "answer", "# comment\n[system]\nSys $$1\n[user]\nQ=${question}\n$sources\n")
    prompt = load_prompt(s, "answer", {"question", "sources"})
    messages = prompt.format(question="why $x {y}?", sources="[1] a {b} $c")
    assert isinstance(messages[0], SystemMessage) and messages[0].content == "Sys $1"
    assert isinstance(messages[1], HumanMessage)
    assert messages[1].content == "Q=why $x {y}?\n[1] a {b} $c"
    with pytest.raises(PromptError, match="missing variables \\['sources'\\]"):
        prompt.format(question="q")
    with pytest.raises(PromptError, match="unknown variables \\['extra'\\]"):
        prompt.format(question="q", sources="s", extra="e")


def test_copied_bundled_prompt_is_what_gets_loaded(tmp_path: Path) -> None:
    shutil.copytree(BUNDLED_PROMPTS, tmp_path / "p")
    (tmp_path / "p" / "condense.txt").write_text("[user]\n$history\n", encoding="utf-8")
    s = Settings(index_dir=tmp_path, prompts_dir=tmp_path / "p")
    assert load_answer_prompt(s).variables == {"question", "sources"}
    with pytest.raises(PromptError, match="question"):
        load_condense_prompt(s)


# --- packing ------------------------------------------------------------------------


def test_packing_keeps_whole_paragraphs_in_rank_order(settings: Settings) -> None:
    prompt = load_answer_prompt(settings)
    paragraphs = [
        para(i, f"Paragraph {i} says " + " ".join(f"word{i}x{j}" for j in range(60))) for i in range(1, 9)
    ]
    base = pack_prompt(prompt, "What happened?", [], 10_000).prompt_tokens
    one = count_tokens(format_source(1, paragraphs[0]))
    budget = base + int(one * 3.5)  # room for three paragraphs, not four
    packed = pack_prompt(prompt, "What happened?", paragraphs, budget)
    assert packed.sources == paragraphs[: len(packed.sources)]
    assert 2 <= len(packed.sources) <= 3
    assert packed.dropped == len(paragraphs) - len(packed.sources)
    assert packed.prompt_tokens <= budget
    user_text = str(packed.messages[-1].content)
    for i, p in enumerate(paragraphs, start=1):
        # each paragraph is either entirely present (with its number) or entirely absent
        if i <= len(packed.sources):
            assert p.text in user_text and f"[{i}] Article" in user_text
        else:
            assert f"Paragraph {i} says" not in user_text
    # the whole rendered prompt is what was counted
    assert packed.prompt_tokens == count_tokens("\n\n".join(str(m.content) for m in packed.messages))


def test_packing_stops_at_first_paragraph_that_does_not_fit(settings: Settings) -> None:
    prompt = load_answer_prompt(settings)
    short, huge = para(1, "Short fact."), para(2, "long " * 3000)
    packed = pack_prompt(prompt, "q?", [short, huge, para(3, "Another short fact.")], 1800)
    assert [p.paragraph_id for p in packed.sources] == ["a:p1"]
    assert packed.dropped == 2


def test_source_block_carries_provenance() -> None:
    block = format_source(3, para(3, "Rutte spoke."))
    assert block.splitlines() == ['<source id="3">', "[3] Article (source: Wire; date: 2024-12-03; section: Section)",
                                  "Rutte spoke.", "</source>"]


# --- generator with fake models ------------------------------------------------------


def test_generate_returns_raw_text_and_usage(settings: Settings) -> None:
    model = FakeListChatModel(responses=['Rutte wants "more weapons" [1].'])
    gen = LLMGenerator(model, load_answer_prompt(settings), token_budget=settings.prompt_token_budget)
    text = gen.generate("What does Rutte want?", [para(1, "Rutte wants more weapons."), para(2, "Other.")])
    assert text == 'Rutte wants "more weapons" [1].'
    usage = gen.last_usage
    assert usage is not None and usage.sources_used == 2 and usage.sources_dropped == 0
    assert usage.completion_tokens == count_tokens(text)
    assert usage.prompt_tokens > count_tokens("Rutte wants more weapons.")


def test_generate_sends_numbered_sources_and_question(settings: Settings) -> None:
    seen: list = []

    class Recording(FakeListChatModel):
        def invoke(self, input, config=None, **kwargs):  # type: ignore[override]
            seen.append(input)
            return super().invoke(input, config, **kwargs)

    gen = LLMGenerator(Recording(responses=["INSUFFICIENT"]), load_answer_prompt(settings))
    assert is_insufficient(gen.generate("Who won?", [para(1, "Alpha text."), para(2, "Beta text.")]))
    system, user = seen[0]
    assert "ONLY" in system.content and "instructions" in system.content
    assert "[1] Article" in user.content and "[2] Article" in user.content
    assert user.content.index("Alpha text.") < user.content.index("Beta text.")
    assert "Question: Who won?" in user.content


def test_no_sources_abstains_without_calling_the_model(settings: Settings) -> None:
    model = FakeListChatModel(responses=[])  # would raise if called
    gen = LLMGenerator(model, load_answer_prompt(settings))
    assert gen.generate("q?", []) == INSUFFICIENT
    assert list(gen.stream("q?", [])) == [INSUFFICIENT]


def test_stream_yields_chunks_that_join_to_the_answer(settings: Settings) -> None:
    answer = 'Kyiv asked for "20 new air defense systems" [1].'
    model = GenericFakeChatModel(messages=iter([AIMessage(content=answer)]))
    gen = LLMGenerator(model, load_answer_prompt(settings))
    chunks = list(
        gen.stream("What did Kyiv ask for?", [para(1, "Kyiv asked for 20 new air defense systems.")])
    )
    assert len(chunks) > 1 and "".join(chunks) == answer
    assert gen.last_usage is not None and gen.last_usage.completion_tokens == count_tokens(answer)


def test_model_failure_becomes_generator_error(settings: Settings) -> None:
    class Broken(FakeListChatModel):
        def _call(self, *args, **kwargs):  # type: ignore[override]
            raise ConnectionError("server down")

    gen = LLMGenerator(Broken(responses=["x"]), load_answer_prompt(settings))
    with pytest.raises(GeneratorError, match="server down"):
        gen.generate("q?", [para(1, "t")])


def test_is_insufficient_variants() -> None:
    assert is_insufficient("INSUFFICIENT") and is_insufficient(' "Insufficient." ')
    assert not is_insufficient("The sources are sufficient [1].")


# --- condensing ---------------------------------------------------------------------


def test_condense_without_history_does_not_call_the_model(settings: Settings) -> None:
    model = FakeListChatModel(responses=[])
    assert condense(model, load_condense_prompt(settings), [], "Who is Rutte?") == "Who is Rutte?"


def test_condense_rewrites_and_cleans(settings: Settings) -> None:
    model = FakeListChatModel(
        responses=['Standalone question: "What did Mark Rutte say in Brussels?"\nextra']
    )
    history = [
        {"role": "user", "content": "Who is NATO's Secretary General?"},
        {"role": "assistant", "content": "Mark Rutte [1]."},
    ]
    out = condense(model, load_condense_prompt(settings), history, "What did he say in Brussels?")
    assert out == "What did Mark Rutte say in Brussels?"


@pytest.mark.parametrize("raw", ["", "INSUFFICIENT", "He said that more weapons are needed.", "why? " * 200])
def test_clean_condensed_falls_back_to_the_question(raw: str) -> None:
    assert clean_condensed(raw, "What did he say?") == "What did he say?"


# --- factory ------------------------------------------------------------------------


def test_factory_builds_openai_client_from_settings(tmp_path: Path) -> None:
    s = Settings(
        index_dir=tmp_path,
        openai_base_url="http://127.0.0.1:9/v1",
        llm_max_tokens=123,
        llm_temperature=0.2,
        llm_timeout_s=7.0,
    )
    model = load_chat_model("openai/smollm2-135m", s)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "smollm2-135m" and model.max_tokens == 123 and model.temperature == 0.2
    assert model.openai_api_base == "http://127.0.0.1:9/v1" and model.request_timeout == 7.0
    # compatible servers read max_tokens, not LangChain's max_completion_tokens
    assert model.extra_body == {"max_tokens": 123}
    assert load_chat_model("openai/gpt-4o-mini", Settings(index_dir=tmp_path)).extra_body is None


def test_factory_builds_ollama_client(tmp_path: Path) -> None:
    s = Settings(index_dir=tmp_path, ollama_base_url="http://127.0.0.1:9", llm_max_tokens=50)
    model = load_chat_model("ollama/llama3.2:1b", s)
    assert isinstance(model, ChatOllama)
    assert model.model == "llama3.2:1b" and model.base_url == "http://127.0.0.1:9" and model.num_predict == 50


@pytest.mark.parametrize("spec", ["anthropic/claude", "extractive", "openai/", "/model", ""])
def test_factory_rejects_unknown_or_malformed_specs(spec: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        load_chat_model(spec, Settings(index_dir=tmp_path))
