"""The shipped triage model on fixed examples that are not in its corpus, and the pure-Python
scorer's contract: calibrated scores 0..1, readable top terms, Persian spelling variants alike,
bounded input, model files checked on load, and the same probabilities as scikit-learn."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from services.routing.domain.text import normalize, tokens
from services.routing.triage import SIGNALS, SignalScore, TriageModel, load_model, shipped_versions
from services.routing.triage.corpus import CORPUS, read_corpus
from services.routing.triage.features import MAX_CHARS, feature_values
from services.routing.triage.scorer import MODELS_DIR, load_model_file

MODEL = load_model()

# Everyday harm, written for this test (the corpus has none of these texts): no keyword of the
# safety override ("threat", "unsafe", "gas leak" ...) appears in them.
EVERYDAY_HARM = {
    "en": [
        (
            "Toy remote",
            "The battery cover of the toy remote you sell came off and my two-year-old swallowed the "
            "little round battery. We are in the children's hospital now.",
        ),
        (
            "Electric blanket",
            "The electric blanket from your shop scorched the sheet last night and my mum woke up "
            "with a burn on her leg. The wire inside has melted.",
        ),
        (
            "Cooker installation",
            "Since your fitter connected our new hob this morning the flat smells of gas and my "
            "husband feels dizzy. We have opened all the windows.",
        ),
    ],
    "fa": [
        (
            "بخاری",
            "از وقتی بخاری را نصب کردید بوی گاز توی خانه می‌پیچد و بچه‌ها سرگیجه گرفته‌اند. "
            "پنجره‌ها را باز کردیم.",
        ),
        (
            "پتوی برقی",
            "پتوی برقی که از فروشگاه شما خریدم دیشب داغ شد و ملافه سوخت و پای مادرم تاول زد.",
        ),
        (
            "اسباب‌بازی",
            "در باتری اسباب‌بازی باز شد و بچه دو ساله‌ام باتری را قورت داد. الان در بیمارستان هستیم.",
        ),
    ],
}
HARD_NEGATIVES = [
    pytest.param(
        "Great deal",
        "Killer prices this week, so I ordered three jackets, but one came in the wrong size.",
        marks=pytest.mark.xfail(
            strict=True,
            reason="triage-1 scores it just above the safety threshold that recall 0.98 needs on this "
            "corpus (precision there about 0.45 by cross-validation, models/triage-1.metrics.json): "
            "narrative words (came, week) carry safety weight; needs more hard negatives in the corpus",
        ),
    ),
    ("قیمت", "قیمتش آدمو میکشه، ولی کیفیتش عالیه و زود هم رسید."),
    ("Deposit", "When will my security deposit refund arrive? I returned the keys a month ago."),
]


def _plain(examples: list) -> list[tuple[str, str]]:
    return [tuple(e.values) if hasattr(e, "values") else e for e in examples]


def corpus_texts() -> set[str]:
    items, _ = read_corpus(CORPUS)
    return {normalize(f"{i.subject}\n{i.body}") for i in items}


def test_the_examples_are_not_in_the_corpus() -> None:
    known = corpus_texts()
    examples = [*EVERYDAY_HARM["en"], *EVERYDAY_HARM["fa"], *_plain(HARD_NEGATIVES)]
    assert not [s for s, b in examples if normalize(f"{s}\n{b}") in known]


@pytest.mark.parametrize("language", ["en", "fa"])
def test_everyday_harm_scores_above_the_safety_threshold(language: str) -> None:
    threshold = MODEL.thresholds["safety"]
    for subject, body in EVERYDAY_HARM[language]:
        safety = MODEL.score(subject, body)["safety"]
        assert safety.score >= threshold, (subject, safety)
        assert safety.top_terms, subject


@pytest.mark.parametrize(("subject", "body"), HARD_NEGATIVES)
def test_hard_negatives_score_below_the_safety_threshold(subject: str, body: str) -> None:
    assert MODEL.score(subject, body)["safety"].score < MODEL.thresholds["safety"]


def test_arabic_keyboard_spelling_scores_like_the_persian_one() -> None:
    subject, body = EVERYDAY_HARM["fa"][1]
    arabic = str.maketrans({"ی": "ي", "ک": "ك"})
    assert arabic and body.translate(arabic) != body
    persian = MODEL.score(subject, body)
    typed = MODEL.score(subject.translate(arabic), body.translate(arabic).replace("\u200c", ""))
    for signal in SIGNALS:
        assert typed[signal].score == pytest.approx(persian[signal].score, abs=0.05)
    exact = MODEL.score(subject.translate(arabic), body.translate(arabic))
    assert {s: v.score for s, v in exact.items()} == {s: v.score for s, v in persian.items()}


def test_every_signal_is_scored_within_0_and_1() -> None:
    texts = [("", ""), ("x", "?!"), *EVERYDAY_HARM["en"], *_plain(HARD_NEGATIVES), ("", "کلاهبردارها " * 900)]
    for subject, body in texts:
        scores = MODEL.score(subject, body)
        assert tuple(scores) == SIGNALS
        for signal, s in scores.items():
            assert isinstance(s, SignalScore) and s.signal == signal and s.source == "model"
            assert 0.0 <= s.score <= 1.0 and math.isfinite(s.score)
            assert len(s.top_terms) <= 5 and all(isinstance(t, str) and t for t in s.top_terms)


def test_top_terms_are_readable_words_strongest_first() -> None:
    subject, body = EVERYDAY_HARM["en"][0]
    terms = MODEL.score(subject, body)["safety"].top_terms
    words = set(tokens(f"{subject} {body}"))
    assert terms and all(part in words for term in terms for part in term.split())
    contributions = [MODEL.score(subject, body.replace(term, " "))["safety"].score for term in terms[:1]]
    assert contributions[0] < MODEL.score(subject, body)["safety"].score  # the strongest term raised it
    assert "the" not in terms  # function words never explain a score


def test_long_input_is_cut_before_scoring() -> None:
    body = "my card was charged twice " * 1000
    cut = f"Refund\n{body}"[:MAX_CHARS]
    assert MODEL.score("Refund", body) == MODEL.score(*cut.split("\n", 1))
    assert sum(feature_values("Refund", body).values()) == sum(feature_values(*cut.split("\n", 1)).values())


def test_shipped_models_and_the_newest_by_default() -> None:
    assert "triage-1" in shipped_versions()
    assert load_model(None) is load_model(shipped_versions()[-1])
    assert load_model("triage-1") is load_model("triage-1")  # cached
    assert isinstance(MODEL, TriageModel) and MODEL.version == shipped_versions()[-1]
    assert set(MODEL.thresholds) == set(SIGNALS)


@pytest.mark.parametrize("version", ["triage-999", "triage-0", "../triage-1", "triage-1.json", ""])
def test_an_unknown_version_is_refused_naming_it(version: str) -> None:
    with pytest.raises(ValueError, match="triage model") as raised:
        load_model(version)
    assert repr(version) in str(raised.value)


def _shipped_data() -> dict:
    return json.loads((MODELS_DIR / "triage-1.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "triage-2"}, "version"),
        ({"version": "v1"}, "version"),
        ({"format_version": 99}, "format"),
        ({"normaliser": "0000"}, "normaliser"),
        ({"feature_scheme": "words"}, "feature_scheme"),
        ({"intercepts": [0.0]}, "intercepts"),
        ({"thresholds": {"safety": 2.0}}, "thresholds"),
        ({"weights": {"w:x": [1.0, "a", 0, 0, 0]}}, "weights"),
    ],
)
def test_a_bad_model_file_is_refused_naming_the_field(tmp_path: Path, change: dict, field: str) -> None:
    path = tmp_path / "triage-1.json"
    path.write_text(json.dumps({**_shipped_data(), **change}), encoding="utf-8")
    with pytest.raises(ValueError, match=field):
        load_model_file(path, expected_version="triage-1")


def test_the_shipped_model_was_trained_on_the_shipped_corpus() -> None:
    """`make triage-model` after every corpus change: the model names the corpus it came from."""
    metrics = json.loads((MODELS_DIR / "triage-1.metrics.json").read_text(encoding="utf-8"))
    corpus_hash = hashlib.sha256(CORPUS.read_bytes()).hexdigest()
    assert _shipped_data()["trained_on"]["corpus_sha256"] == metrics["corpus_sha256"] == corpus_hash
    assert (MODELS_DIR / "triage-1.json").stat().st_size < 3_000_000


def test_the_runtime_scorer_reproduces_scikit_learn() -> None:
    pytest.importorskip("sklearn")
    from services.routing.triage.scorer import model_from_data
    from services.routing.triage.train import fit

    items, corpus_hash = read_corpus(CORPUS)
    train = [i for i in items if i.split == "train"][
        ::3
    ]  # the export is under test, not the fit: a third will do
    fitted = fit(train, "triage-1", corpus_hash, c_grid=(64.0,), folds=2)
    runtime = model_from_data(fitted.model_data)
    texts = [
        *EVERYDAY_HARM["en"][:2],
        *EVERYDAY_HARM["fa"][:2],
        *_plain(HARD_NEGATIVES),
        *[(i.subject, i.body) for i in items if i.split == "heldout"][:10],
    ]
    for subject, body in texts:
        scores = runtime.score(subject, body)
        for signal in SIGNALS:
            # Pruned near-zero weights and 6-digit rounding are the only difference.
            assert scores[signal].score == pytest.approx(
                fitted.sklearn_probability(signal, subject, body), abs=2e-3
            ), (signal, subject)
