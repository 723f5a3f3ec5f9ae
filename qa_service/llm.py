"""The one place chat models are built, from a "provider/model" string.

Adding a provider is one new branch here. Nothing is created at import time.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from qa_service.config import Settings
from qa_service.errors import InvalidInputError

PROVIDERS = ("openai", "ollama")


def parse_model_spec(spec: str) -> tuple[str, str]:
    """Split "openai/gpt-4o-mini" into ("openai", "gpt-4o-mini"); the model part may contain "/"."""
    provider, sep, model = (spec or "").strip().partition("/")
    if not sep or not provider or not model.strip():
        raise InvalidInputError(
            f"chat model {spec!r} is not of the form 'provider/model' (providers: {', '.join(PROVIDERS)})"
        )
    return provider.strip().lower(), model.strip()


def load_chat_model(spec: str, settings: Settings) -> BaseChatModel:
    """Build the chat model named by `spec` with the limits from `settings`."""
    provider, model = parse_model_spec(spec)
    if provider == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=model,
            base_url=settings.openai_base_url,
            api_key=SecretStr(settings.openai_api_key),
            temperature=settings.llm_temperature,
            max_completion_tokens=settings.llm_max_tokens,
            timeout=settings.llm_timeout_s,
            max_retries=1,
            # Ask for token counts in streamed responses too (servers that do not know it ignore it).
            stream_usage=True,
            # LangChain sends the limit as `max_completion_tokens`; llama.cpp's server (and other
            # OpenAI-compatible servers) read only `max_tokens` and would otherwise generate up to
            # n_ctx. api.openai.com (no base_url) gets just the modern field.
            extra_body={"max_tokens": settings.llm_max_tokens} if settings.openai_base_url else None,
        )
    if provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=model,
            base_url=settings.ollama_base_url,
            temperature=settings.llm_temperature,
            num_predict=settings.llm_max_tokens,
            client_kwargs={"timeout": settings.llm_timeout_s},
        )
    raise InvalidInputError(
        f"unknown chat model provider {provider!r} in {spec!r}; expected one of: {', '.join(PROVIDERS)}"
    )
