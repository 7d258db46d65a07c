"""Build corpus.jsonl, the labelled bilingual triage corpus, from the hand-written items.

The items are written by hand in `handwritten.txt` (one item a line, see FORMAT below). This script
only adds mechanical spelling variants of some Persian and English items (Arabic-keyboard ي/ك,
ZWNJ dropped or typed as a space, Persian <-> Latin digits, lower-case chat style), keeps every
variant in the group of the item it came from, numbers the records and fixes the train/held-out
split by group. It is deterministic and needs no network: run it again after editing
`handwritten.txt` and commit both files.

    .venv/bin/python services/routing/triage/data/build_corpus.py

FORMAT of a line in handwritten.txt (fields separated by " | "):

    language | sector | role | channel | labels[@key] | subject | body | note

- labels: letters S (safety), G (safeguarding), P (privacy), F (fraud_abuse), U (urgent), or "-";
- @key (optional): hand-written paraphrases that share a key share a group;
- "~" in Persian text stands for ZWNJ (U+200C), so the source stays readable and the variants can
  drop it or replace it by a space;
- blank lines and lines starting with "#" are ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "handwritten.txt"
OUTPUT = HERE / "corpus.jsonl"

LABELS = ("safety", "safeguarding", "privacy", "fraud_abuse", "urgent")
LETTERS = {"S": "safety", "G": "safeguarding", "P": "privacy", "F": "fraud_abuse", "U": "urgent"}
LANGUAGES = {"fa", "en"}
SECTORS = {"healthcare", "education", "b2b", "general"}
ROLES = {"customer", "patient", "student", "parent", "relative", "business", "employee", "other"}
CHANNELS = {"web", "email", "chat", "social", "phone", "partner"}
MAX_SUBJECT = 200
MAX_BODY = 2000

ZWNJ = "\u200c"
FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
LATIN_DIGITS = "0123456789"
TO_LATIN = str.maketrans(FA_DIGITS, LATIN_DIGITS)
TO_PERSIAN = str.maketrans(LATIN_DIGITS, FA_DIGITS)
TO_ARABIC_KEYBOARD = str.maketrans({"ی": "ي", "ک": "ك"})
# A group is held out when the first digit of its hash is below 3 of 10 (about 30 %).
SPLIT_SALT = "haq-triage-corpus"
HELDOUT_TENTHS = 3


class SourceError(ValueError):
    pass


def parse_line(number: int, line: str) -> dict:
    fields = [f.strip() for f in line.split(" | ")]
    if len(fields) != 8:
        raise SourceError(f"line {number}: expected 8 fields, got {len(fields)}")
    language, sector, role, channel, label_field, subject, body, note = fields
    letters, _, key = label_field.partition("@")
    for value, allowed, name in (
        (language, LANGUAGES, "language"),
        (sector, SECTORS, "sector"),
        (role, ROLES, "role"),
        (channel, CHANNELS, "channel"),
    ):
        if value not in allowed:
            raise SourceError(f"line {number}: bad {name} {value!r}")
    if letters != "-" and (not letters or any(ch not in LETTERS for ch in letters)):
        raise SourceError(f"line {number}: bad labels {letters!r}")
    labels = {name: 0 for name in LABELS}
    for ch in letters.replace("-", ""):
        labels[LETTERS[ch]] = 1
    subject, body = subject.replace("~", ZWNJ), body.replace("~", ZWNJ)
    if not body:
        raise SourceError(f"line {number}: empty body")
    return {
        "language": language,
        "sector": sector,
        "role": role,
        "channel": channel,
        "subject": subject,
        "body": body,
        "labels": labels,
        "note": note,
        "key": key or f"\0line {number}",  # NUL: no typed @key can collide
    }


def persian_variants(index: int, item: dict) -> list[tuple[str, str, str]]:
    """(subject, body, note) spelling variants of a Persian item; which ones depends on its index so
    the corpus gets a spread of every kind without tripling its size."""
    kinds = []
    if index % 4 == 0:
        kinds.append("arabic")
    if index % 4 == 1 and ZWNJ in item["subject"] + item["body"]:
        kinds.append("nozwnj" if (index // 4) % 2 else "spaced")
    if index % 3 == 2 and any(d in item["body"] for d in FA_DIGITS + LATIN_DIGITS):
        kinds.append("digits")
    out = []
    for kind in kinds:
        if kind == "arabic":
            convert = lambda s: s.translate(TO_ARABIC_KEYBOARD)  # noqa: E731
            note = "spelling variant: Arabic-keyboard ي and ك"
        elif kind == "nozwnj":
            convert = lambda s: s.replace(ZWNJ, "")  # noqa: E731
            note = "spelling variant: ZWNJ dropped (میخواهم)"
        elif kind == "spaced":
            convert = lambda s: s.replace(ZWNJ, " ")  # noqa: E731
            note = "spelling variant: ZWNJ typed as a space (می خواهم)"
        else:
            has_persian = any(d in item["body"] for d in FA_DIGITS)
            table = TO_LATIN if has_persian else TO_PERSIAN
            convert = lambda s, t=table: s.translate(t)  # noqa: E731
            note = "spelling variant: " + ("Latin digits" if has_persian else "Persian digits")
        out.append((convert(item["subject"]), convert(item["body"]), note))
    return out


def english_variants(index: int, item: dict) -> list[tuple[str, str, str]]:
    """Every seventh English item also appears typed fast: lower case, no final punctuation."""
    if index % 7 != 3:
        return []
    body = re.sub(r"[.!]+$", "", item["body"].lower())
    return [(item["subject"].lower(), body, "spelling variant: lower case, chat style")]


def split_for(key: str, first: dict) -> str:
    """train or heldout for a group: its @key decides, or without one the text of its first item."""
    if key.startswith("\0"):
        key = f"{first['language']}\n{first['subject']}\n{first['body']}"
    digest = hashlib.sha256(f"{SPLIT_SALT}\n{key}".encode()).hexdigest()
    return "heldout" if int(digest, 16) % 10 < HELDOUT_TENTHS else "train"


def build(lines: list[str]) -> list[dict]:
    items = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        items.append(parse_line(number, line))

    groups: dict[str, list[dict]] = {}
    for index, item in enumerate(items):
        variants = (persian_variants if item["language"] == "fa" else english_variants)(index, item)
        members = groups.setdefault(item["key"], [])
        members.append(item)
        for subject, body, note in variants:
            if (subject, body) == (item["subject"], item["body"]):
                continue
            members.append({**item, "subject": subject, "body": body, "note": note, "variant_of": item})

    # Split by group on a hash of what identifies it (its @key, or the text of its first item), so
    # the split of a group never depends on any other line: appending items, fixing a label or
    # reordering the file moves nobody between train and held-out.
    split_of = {key: split_for(key, members[0]) for key, members in groups.items()}

    records, ids_of_items = [], {}
    for group_number, (key, members) in enumerate(groups.items(), start=1):
        for member in members:
            record_id = f"c{len(records) + 1:04d}"
            note = member["note"]
            if "variant_of" in member:
                note = f"{note} of {ids_of_items[id(member['variant_of'])]}"
            else:
                ids_of_items[id(member)] = record_id
            records.append(
                {
                    "id": record_id,
                    "group": f"g{group_number:04d}",
                    "language": member["language"],
                    "sector": member["sector"],
                    "role": member["role"],
                    "channel": member["channel"],
                    "subject": member["subject"],
                    "body": member["body"],
                    "labels": member["labels"],
                    "split": split_of[key],
                    "note": note,
                }
            )
    check(records)
    return records


def check(records: list[dict]) -> None:
    seen: dict[str, str] = {}
    for record in records:
        if len(record["subject"]) > MAX_SUBJECT or len(record["body"]) > MAX_BODY:
            raise SourceError(f"{record['id']}: subject or body too long")
        text = (record["subject"] + "\n" + record["body"]).strip()
        if text in seen:
            raise SourceError(f"{record['id']}: same text as {seen[text]}")
        seen[text] = record["id"]


def main() -> int:
    records = build(SOURCE.read_text(encoding="utf-8").splitlines())
    with OUTPUT.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} records to {OUTPUT.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
