"""Reading the directory and rule-set files (YAML) into domain objects."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..domain.model import Directory, parse_directory
from ..domain.rules import RuleSet, parse_rule_set

BUILTIN_RULES = Path(__file__).resolve().parents[1] / "seed" / "rules.yaml"


class FileError(ValueError):
    """A file that cannot be used; the message names the file and the field."""


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


def load_rule_set(path: Path = BUILTIN_RULES) -> RuleSet:
    try:
        return parse_rule_set(_load(path))
    except ValueError as exc:
        raise FileError(f"{path}: {exc}") from exc
