"""Reading directory, accounts and rule-set files (YAML) into domain objects.

Rule sets are checked in three passes, each reporting every problem with the file, the line and
the field: YAML syntax (and duplicate keys, which PyYAML would silently merge), the published JSON
Schema (`ruleset.schema.json`, copied to docs/routing/), then the domain's own checks (unique ids,
keywords with letters, signal names, a shipped triage model, teams the directory has)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from ..domain.model import Account, Directory, InvalidData, parse_accounts, parse_directory
from ..domain.rules import RuleSet, parse_rule_set, unknown_team_fields
from ..triage.scorer import shipped_versions

SEED = Path(__file__).resolve().parents[1] / "seed"
BUILTIN_RULES = SEED / "rules.yaml"
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "ruleset.schema.json"


class FileError(ValueError):
    """A file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when unknown
    field: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.problem}" if self.field else f"{where}: {self.problem}"


class RuleSetInvalid(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


Path_ = tuple[str | int, ...]


def _field(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parse_field(field: str) -> Path_:
    return tuple(int(i) if i else name for name, i in _PART.findall(field))


def _lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[Problem], file: str) -> None:
    """Record the line of every value; duplicate mapping keys are problems."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem(file, key_node.start_mark.line + 1, _field((*path, key)), "is given twice")
                )
            seen.add(key)
            _lines(value_node, (*path, key), lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), lines, problems, file)


def _line_of(lines: dict[Path_, int], path: Path_) -> int:
    """The line of the field, or of its nearest parent that is in the file (a missing field)."""
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 0)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _schema_message(error: Any) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{error.message}; allowed: {', '.join(allowed)}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return error.message


def _schema_path(error: Any) -> Path_:
    path = tuple(error.absolute_path)
    if "propertyNames" in error.schema_path and isinstance(error.instance, str):
        return (*path, error.instance)  # name the key that is wrong (signals.safty), not its parent
    if error.validator == "required":  # name the missing field, not its parent
        missing = re.match(r"'([^']+)' is a required property", error.message)
        if missing:
            return (*path, missing.group(1))
    return path


def parse_rule_set_text(
    text: str, file: str = "rules.yaml", team_ids: Iterable[str] | None = None
) -> RuleSet:
    """A rule set from YAML text, or RuleSetInvalid listing every problem (file, line, field)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise RuleSetInvalid(
            [Problem(file, line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from exc
    if node is None:
        raise RuleSetInvalid([Problem(file, 0, "", "is empty")])
    lines: dict[Path_, int] = {}
    problems: list[Problem] = []
    _lines(node, (), lines, problems, file)
    data = yaml.SafeLoader(text).get_single_data()
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = _schema_path(error)
        problems.append(Problem(file, _line_of(lines, path), _field(path), _schema_message(error)))
    if problems:
        raise RuleSetInvalid(problems)
    try:
        rule_set = parse_rule_set(data, shipped_versions())
    except InvalidData as exc:
        path = _parse_field(exc.path)
        raise RuleSetInvalid([Problem(file, _line_of(lines, path), exc.path, exc.problem)]) from exc
    if team_ids is not None:
        unknown = unknown_team_fields(rule_set, set(team_ids))
        if unknown:
            raise RuleSetInvalid(
                [Problem(file, _line_of(lines, _parse_field(p.path)), p.path, p.problem) for p in unknown]
            )
    return rule_set


def _load(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FileError(f"{path}: {exc}") from exc


def load_directory(path: Path) -> Directory:
    try:
        return parse_directory(_load(path))
    except ValueError as exc:
        raise FileError(f"{path}: {exc}") from exc


def accounts_file_for(directory_file: Path) -> Path:
    """B2B accounts live beside the directory file (`accounts.yaml`); a directory without one
    simply has no contracts on record."""
    return directory_file.parent / "accounts.yaml"


def load_accounts(path: Path) -> dict[str, Account]:
    if not path.exists():
        return {}
    try:
        return parse_accounts(_load(path))
    except ValueError as exc:
        raise FileError(f"{path}: {exc}") from exc


def load_rule_set(path: Path = BUILTIN_RULES) -> RuleSet:
    try:
        return parse_rule_set_text(path.read_text(encoding="utf-8"), path.name)
    except OSError as exc:
        raise FileError(f"{path}: {exc}") from exc
    except RuleSetInvalid as exc:
        raise FileError(str(exc)) from exc
