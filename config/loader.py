"""Read bot.yaml into a :class:`~config.model.Config`, reporting every problem at once.

    text ─ YAML (duplicate keys refused) ─ ${VAR} substitution ─ Config validation
                      │                            │                   │
                      └───────── one ConfigError, a line per bad key ──┘

Each line names the dotted key path, the bad value (secrets masked) and what is
expected: ``coops[1].zone: 'Buenos Aires' is not a time zone; expected ...``.
"""
from __future__ import annotations

import difflib
import os
import re
import reprlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bot.errors import ConfigError

from .model import CONTEXT_BASE_DIR, PROBLEM, Config, Loc, format_duration, mask_url

DEFAULTS_RESOURCE = "defaults.yaml"
EMBEDDED_SOURCE = "<embedded defaults>"


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load ``path``, or the embedded ``config/defaults.yaml`` when ``path`` is None.

    Relative SQLite paths resolve against the file's directory (the working
    directory for the embedded defaults). ``${VAR}`` and ``${VAR:-default}`` in
    string values come from ``environ`` (``os.environ`` by default).
    Raises :class:`ConfigError` listing every problem found.
    """
    if path is None:
        text = resources.files(__package__).joinpath(DEFAULTS_RESOURCE).read_text(encoding="utf-8")
        return parse_config(text, source=EMBEDDED_SOURCE, base_dir=Path.cwd(), environ=environ)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file; expected a YAML configuration such as a copy of bot.yaml.example"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text; expected a YAML configuration saved as UTF-8"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror}); expected a readable YAML file"]) from None
    return parse_config(text, source=str(path), base_dir=path.parent, environ=environ)


def parse_config(
    text: str,
    *,
    source: str = "<text>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate configuration ``text``; ``source`` names it in syntax errors."""
    data = _read_yaml(text, source)
    env_problems: dict[Loc, list[str]] = {}
    data = _substitute(data, (), os.environ if environ is None else environ, env_problems)
    problems = [line for lines in env_problems.values() for line in lines]
    try:
        config = Config.model_validate(data, context={CONTEXT_BASE_DIR: base_dir or Path.cwd()})
    except ValidationError as exc:
        # A key whose ${VAR} is unset was already reported; its placeholder is no value to judge.
        problems += [
            _describe(error) for error in exc.errors()
            if not any(error["loc"][: len(loc)] == loc for loc in env_problems)
        ]
    if problems:
        raise ConfigError(problems)
    return config


def format_problems(err: ConfigError) -> str:
    """The text ``coopbot check`` prints for a bad configuration."""
    count = len(err.problems)
    header = f"The configuration has {count} problem{'s' if count != 1 else ''}:"
    return "\n".join([header, *(f"  - {problem}" for problem in err.problems)])


def summarize(config: Config) -> str:
    """One screen about a valid configuration; passwords and tokens are never shown."""
    bot = config.bot
    width = max(len(name) for name in (*(coop.name for coop in config.coops), *config.adapters.enabled_names))
    zone_width = max(len(coop.zone) for coop in config.coops)
    lines = [
        f"{bot.name}: prefix {bot.prefix!r}, language {bot.language}, log level {bot.log_level}",
        f"storage:   {mask_url(config.storage.url)}",
        f"coops ({len(config.coops)}):",
        *(
            f"  {coop.name:<{width}}  {coop.zone:<{zone_width}}  {coop.working_hours}  {coop.language}"
            + (f"  {coop.city}" if coop.city else "")
            for coop in config.coops
        ),
        "adapters:",
    ]
    for name in config.adapters.enabled_names:
        url = getattr(getattr(config.adapters, name), "url", None)
        lines.append(f"  {name:<{width}}  {mask_url(url)}" if url else f"  {name}")
    server = config.server
    lines += [
        f"server:    {f'http://{server.host}:{server.port}' if server.enabled else 'off'}"
        + (f" (public {server.public_url})" if server.enabled and server.public_url else ""),
        "reminders: " + ", ".join(map(format_duration, config.reminders.offsets)) + " before each call; "
        f"calls last {format_duration(config.calls.default_duration)} unless told",
    ]
    return "\n".join(lines)


# --- YAML ----------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.value in first_line:
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"the key {key_node.value!r} appears twice (first on line {first_line[key_node.value] + 1})",
                    key_node.start_mark,
                )
            first_line[key_node.value] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(text: str, source: str) -> dict[Any, Any]:
    try:
        data: object = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        raise ConfigError([f"{source}: {where}not valid YAML: {exc.problem}{context}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: not valid YAML: {exc}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([
            f"{source}: the top level is a {type(data).__name__}; "
            "expected a mapping of sections (bot, storage, coops, reminders, calls, server, adapters)"
        ])
    return data


# --- ${VAR} substitution ---------------------------------------------------------

_ENV_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _substitute(value: Any, loc: Loc, environ: Mapping[str, str], problems: dict[Loc, list[str]]) -> Any:
    """Copy ``value`` with ``${VAR}``, ``${VAR:-default}`` and ``$$`` expanded in its strings.

    An unset variable without a default is recorded in ``problems`` under its key
    and left as written. As in a shell, ``:-`` also replaces an empty variable.
    """
    if isinstance(value, dict):
        return {key: _substitute(item, (*loc, key), environ, problems) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, (*loc, i), environ, problems) for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def expand(match: re.Match[str]) -> str:
        name, default = match.groups()
        if name is None:
            return "$"
        found = environ.get(name)
        if default is not None and not found:
            return default
        if found is None:
            problems.setdefault(loc, []).append(
                f"{_key_path(loc)}: {match.group(0)} is not set in the environment; "
                f"expected {name} to be set, or a default as in ${{{name}:-value}}"
            )
            return match.group(0)
        return found

    return _ENV_REFERENCE.sub(expand, value)


# --- describing validation errors ------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_MASKED = "'**********'"
# Pydantic error types whose own message reads poorly in a YAML file.
_EXPECTED = {
    "string_type": "text",
    "string_too_short": "non-empty text",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping of key: value lines",
    "model_type": "a mapping of key: value lines",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _key_path(loc: Loc) -> str:
    """``('coops', 1, 'zone')`` → ``coops[1].zone``; odd keys are quoted: ``languages['off topic']``."""
    path = ""
    for part in loc:
        if isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            path += f".{part}" if path else part
        elif isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        else:
            path += f"[{part!r}]"
    return path or "(top level)"


def _describe(error: ErrorDetails) -> str:
    loc = _as_written(error["loc"])
    path = _key_path(loc)
    kind = error["type"]
    if kind == PROBLEM:
        return f"{path}: {error['msg']}"
    if kind == "missing":
        return f"{path}: missing; expected a value (this key is required)"
    if kind == "extra_forbidden":
        return f"{path}: unknown key; {_known_keys(loc)}"
    expected = _EXPECTED.get(kind) or error["msg"].removeprefix("Input should be ")
    return f"{path}: {_show(error['input'], loc)} is invalid; expected {expected}"


def _as_written(loc: Loc) -> Loc:
    """``loc`` with keys as the file spells them: a defaulted field is reported as ``from_``."""
    fields = [_field_at(loc[: i + 1]) if isinstance(part, str) else None for i, part in enumerate(loc)]
    return tuple((field.alias or part) if field else part for part, field in zip(loc, fields))


def _show(value: Any, loc: Loc) -> str:
    field = _field_at(loc)
    if field is not None and _mentions(field.annotation, SecretStr):
        return _MASKED
    return _SHORT.repr(mask_url(value) if isinstance(value, str) else value)


def _known_keys(loc: Loc) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "expected one of the keys documented in bot.yaml.example"
    known = [field.alias or name for name, field in model.model_fields.items()]
    hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f"expected one of: {', '.join(known)}" + (f" (did you mean {hint[0]!r}?)" if hint else "")


def _field_at(loc: Loc) -> FieldInfo | None:
    """The model field a location points at, following sections and lists of sections."""
    model = _model_at(loc[:-1]) if loc else None
    return _field_named(model, loc[-1]) if model is not None else None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = _field_named(model, part) if model is not None else None
        model = _model_in(field.annotation) if field is not None else None
    return model


def _field_named(model: type[BaseModel], key: object) -> FieldInfo | None:
    return next((f for name, f in model.model_fields.items() if key in (name, f.alias)), None)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := _model_in(arg))), None)


def _mentions(annotation: Any, kind: type) -> bool:
    return annotation is kind or any(_mentions(arg, kind) for arg in get_args(annotation))
