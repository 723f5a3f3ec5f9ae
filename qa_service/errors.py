"""The project's own exceptions. Turned into HTTP errors only in api/, CLI exits only in cli.py."""


class QAError(Exception):
    """Base class: every error the core raises on purpose."""


class InvalidInputError(QAError):
    """The caller gave something unusable (empty question, bad filter, bad file)."""


class NotFoundError(QAError):
    """An article, paragraph or conversation id that does not exist."""


class ConflictError(QAError):
    """The request contradicts what is stored (e.g. no unrecorded answer with that text)."""


class IndexMismatchError(QAError):
    """The index was built with another embedding model; mixing vectors would be wrong."""


class PromptError(QAError):
    """A prompt file is missing or lacks a variable the code fills in."""


class GeneratorError(QAError):
    """The answer generator (e.g. a remote LLM) failed."""


class DependencyUnavailable(QAError):
    """A service we depend on (the Chroma server) cannot be reached: temporary, worth retrying."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency} is unavailable ({reason}); try again shortly")
        self.dependency = dependency
        self.reason = reason
