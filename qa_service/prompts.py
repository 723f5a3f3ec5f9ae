"""Prompt templates kept as files under settings.prompts_dir.

A file has a ``[system]`` section and a ``[user]`` section; variables are written
``$name`` or ``${name}`` (``$$`` is a literal dollar), as in simonw/llm's templates.
``string.Template`` substitutes once and never re-reads the values, so braces or
dollars inside article text are safe.

Loading checks the file's variables against the ones the code fills in, so a
wrong prompt file fails at start-up, not on the first question.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from qa_service.config import Settings
from qa_service.errors import PromptError

_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


def template_variables(text: str) -> set[str]:
    """Names used as $name / ${name} in `text`; PromptError on a malformed placeholder."""
    names: set[str] = set()
    for match in string.Template.pattern.finditer(text):
        if match.group("invalid") is not None:
            line = text.count("\n", 0, match.start()) + 1
            raise PromptError(f"malformed '$' placeholder on line {line} (write $$ for a literal dollar)")
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
    return names


class PromptTemplate(BaseModel):
    """A loaded prompt: system and user text plus the variables they use."""

    name: str
    path: Path
    system: str
    user: str
    variables: frozenset[str]

    def format(self, **values: object) -> list[BaseMessage]:
        """Messages with every variable filled; PromptError on a missing or unknown one."""
        missing = self.variables - values.keys()
        unknown = values.keys() - self.variables
        if missing or unknown:
            raise PromptError(
                f"prompt {self.name!r}: missing variables {sorted(missing)}, "
                f"unknown variables {sorted(unknown)}"
            )
        text = {k: str(v) for k, v in values.items()}
        messages: list[BaseMessage] = []
        if self.system:
            messages.append(SystemMessage(string.Template(self.system).substitute(text)))
        messages.append(HumanMessage(string.Template(self.user).substitute(text)))
        return messages

    def render(self, **values: object) -> str:
        """The whole prompt as one string (for token counting and logs)."""
        return "\n\n".join(str(m.content) for m in self.format(**values))


def parse_prompt(name: str, path: Path, text: str) -> PromptTemplate:
    parts = _SECTION.split(text)
    # split() gives [preamble, tag, body, tag, body, ...]; the preamble may hold only comments.
    preamble, sections = parts[0], dict(zip(parts[1::2], parts[2::2], strict=True))
    if preamble.strip() and not all(line.startswith("#") for line in preamble.strip().splitlines()):
        raise PromptError(f"prompt {name!r} ({path}): text before the first [system]/[user] section")
    if len(parts[1::2]) != len(sections):
        raise PromptError(f"prompt {name!r} ({path}): a section appears twice")
    user = sections.get("user", "").strip()
    if not user:
        raise PromptError(f"prompt {name!r} ({path}): no [user] section")
    system = sections.get("system", "").strip()
    try:
        variables = template_variables(system) | template_variables(user)
    except PromptError as exc:
        raise PromptError(f"prompt {name!r} ({path}): {exc}") from None
    return PromptTemplate(name=name, path=path, system=system, user=user, variables=frozenset(variables))


def load_prompt(settings: Settings, name: str, required: set[str]) -> PromptTemplate:
    """Load ``<prompts_dir>/<name>.txt``; its variables must be exactly `required`."""
    path = Path(settings.prompts_dir) / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"prompt file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"cannot read prompt file {path}: {exc}") from None
    prompt = parse_prompt(name, path, text)
    missing = set(required) - prompt.variables
    unknown = prompt.variables - set(required)
    if missing:
        raise PromptError(f"prompt {path} lacks variable(s) {sorted(missing)} that the code fills in")
    if unknown:
        raise PromptError(
            f"prompt {path} uses unknown variable(s) {sorted(unknown)}; allowed: {sorted(required)}"
        )
    return prompt


# The variables the code fills in for each bundled prompt.
ANSWER_VARIABLES = frozenset({"question", "sources"})
CONDENSE_VARIABLES = frozenset({"history", "question"})


def load_answer_prompt(settings: Settings) -> PromptTemplate:
    return load_prompt(settings, "answer", set(ANSWER_VARIABLES))


def load_condense_prompt(settings: Settings) -> PromptTemplate:
    return load_prompt(settings, "condense", set(CONDENSE_VARIABLES))
