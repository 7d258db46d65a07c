"""Hypothesis strategies for hostile input at every entry of the platform, built from the limits
in docs/limits.md: lengths just under, at and just over each maximum, NUL and other control
characters, lone surrogates (JSON only: protobuf strings cannot hold them), invalid UTF-8, deep and
huge JSON, wrong types, missing fields and unknown enum values."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from services.common.pb.haq.v1 import complaint_pb2 as c
from services.escalation.domain import limits as esc_limits
from services.intake.domain import draft as d
from services.intake.domain import identity as ident

# Characters of one, two, three and four UTF-8 bytes: a limit counts characters, not bytes.
WIDE = ["a", "é", "ب", "😀"]
CONTROL = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x7f", "\u2028", "\ufeff"]
SURROGATES = ["\ud800", "\udcff", "\udfff"]

# Printable-ish text that protobuf can carry (no lone surrogates), with control characters.
proto_chars = st.characters(exclude_categories=["Cs"])
json_chars = st.characters()  # anything, lone surrogates included (JSON "\ud800" escapes)


def sized_text(limit: int, *, surrogates: bool = False) -> st.SearchStrategy[str]:
    """A string of length 0, 1, limit - 1, limit, limit + 1 or a few times the limit, of one
    repeated character of 1-4 UTF-8 bytes, sometimes with one hostile character spliced in."""
    hostile = CONTROL + (SURROGATES if surrogates else [])

    @st.composite
    def build(draw: st.DrawFn) -> str:
        n = draw(st.sampled_from([0, 1, max(limit - 1, 0), limit, limit + 1, limit * 3 + 7]))
        text = draw(st.sampled_from(WIDE)) * n
        if text and draw(st.booleans()):
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + draw(st.sampled_from(hostile)) + text[at + 1 :]
        return text

    return build()


HUGE = "x" * 1_100_000  # over the broker's 1 MiB by itself


def hostile_text(limit: int, *, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Boundary lengths, or short arbitrary text (control characters included). Huge strings
    are put in one field per example by the draft strategies, so a failing example stays readable."""
    chars = json_chars if surrogates else proto_chars
    return st.one_of(sized_text(limit, surrogates=surrogates), st.text(chars, max_size=40))


def _at_most(limit: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=limit)


# ---- customer identifiers ------------------------------------------------------------------------
def emails(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    local_max, total_max = ident.MAX_EMAIL_LOCAL, ident.MAX_EMAIL
    domain_tail = "@example.com"

    @st.composite
    def boundary(draw: st.DrawFn) -> str:
        local = "a" * draw(st.sampled_from([1, local_max, local_max + 1]))
        host = "b" * draw(st.sampled_from([1, 60, 63, 64]))
        labels = draw(st.integers(1, 5))
        address = local + "@" + ".".join([host] * labels) + ".com"
        if draw(st.booleans()):  # just under, at or over the whole address's maximum
            pad = total_max - len(domain_tail) + draw(st.sampled_from([-1, 0, 1]))
            address = "c" * min(pad, local_max) + "@" + "d" * max(1, pad - local_max) + ".com"
        return address

    return st.one_of(
        boundary(),
        st.sampled_from(
            [
                "victim@example.com,postmaster@example.com",
                "victim@example.com\r\nBcc: a@b.co",
                "a@b@c.com",
                "noat.example.com",
                '"quoted"@example.com',
                "<a@b.co>",
                "a b@example.com",
                "a@[127.0.0.1]",
                "a@b",
                " a@example.com ",
                "Ünïcødé@exämple.com",
                "a@example.com\x00",
                "@" * 300,
                "a" * 65 + "@" + "b" * 200 + ".com",
            ]
        ),
        hostile_text(ident.MAX_EMAIL, surrogates=surrogates),
    )


phones = st.one_of(
    st.sampled_from(["09121234567", "+989123456789", "۰۹۱۲۱۲۳۴۵۶۷", "+1 (555) 010-0000", "12", "+", "++98"]),
    st.text(st.sampled_from("0123456789+-() ."), max_size=ident.MAX_PHONE + 3),
    hostile_text(ident.MAX_PHONE),
)


def socials(*, surrogates: bool = False) -> st.SearchStrategy[list[tuple[str, str]]]:
    item = st.tuples(
        st.one_of(
            st.sampled_from(["twitter", "instagram", "x.com", "", "tele gram"]),
            hostile_text(ident.MAX_NETWORK, surrogates=surrogates),
        ),
        st.one_of(
            st.sampled_from(["@someone", "some_one", "@", "a/b"]),
            hostile_text(ident.MAX_HANDLE + 1, surrogates=surrogates),
        ),
    )
    return st.lists(item, max_size=d.MAX_SOCIAL + 2)


# ---- complaint drafts (gRPC) ---------------------------------------------------------------------
ENUM_NUMBERS = st.integers(min_value=-3, max_value=40)  # unknown numbers on an open enum included


def _valid_proto() -> c.ComplaintDraft:
    return c.ComplaintDraft(
        channel=c.CHANNEL_WEB,
        customer=c.CustomerIdentifiers(email="fuzz.base@example.com"),
        subject="Broken",
        body="It broke.",
    )


VALID_JSON: dict[str, Any] = {
    "channel": "web",
    "customer": {"email": "fuzz.base@example.com"},
    "subject": "Broken",
    "body": "It broke.",
}


@st.composite
def proto_drafts(draw: st.DrawFn) -> c.ComplaintDraft:
    """Half the time a valid draft with one or two fields taken from a hostile one (so values at
    a limit are accepted and values just over it refused), else a wholly hostile draft."""
    hostile = draw(_hostile_proto_drafts())
    if draw(st.booleans()):
        return hostile
    draft = _valid_proto()
    present = [f for f, _ in hostile.ListFields()]
    chosen = draw(st.lists(st.sampled_from(present), max_size=2, unique=True)) if present else []
    for f in chosen:
        draft.ClearField(f.name)
        if f.message_type is not None:  # customer, metadata
            getattr(draft, f.name).MergeFrom(getattr(hostile, f.name))
        else:
            setattr(draft, f.name, getattr(hostile, f.name))
    return draft


@st.composite
def _hostile_proto_drafts(draw: st.DrawFn) -> c.ComplaintDraft:
    """A ComplaintDraft with each field absent, plausible, or hostile."""
    draft = c.ComplaintDraft()
    maybe = lambda: draw(st.booleans())  # noqa: E731

    if maybe():
        draft.channel = draw(ENUM_NUMBERS)
    if maybe():
        draft.sector = draw(ENUM_NUMBERS)
    if maybe():
        draft.complainant_role = draw(ENUM_NUMBERS)
    if maybe():
        draft.tenant = draw(st.one_of(st.just("default"), hostile_text(d.MAX_TENANT)))
    for name, limit in (
        ("subject", d.MAX_SUBJECT),
        ("body", d.MAX_BODY),
        ("product", d.MAX_PRODUCT),
        ("category", d.MAX_CATEGORY),
        ("idempotency_key", d.MAX_IDEMPOTENCY_KEY),
    ):
        if maybe():
            setattr(draft, name, draw(hostile_text(limit)))
    if maybe():
        draft.language = draw(
            st.one_of(st.sampled_from(["fa", "en", "de", "FA", "e n"]), hostile_text(d.MAX_LANGUAGE))
        )
    if maybe():
        draft.purchase_date = draw(
            st.one_of(
                st.sampled_from(
                    ["2024-02-29", "2023-02-29", "9999-12-31", "2024-13-01", "yesterday", "2024-1-1"]
                ),
                hostile_text(d.MAX_PURCHASE_DATE),
            )
        )
    if maybe():
        keys = st.one_of(_at_most(8), hostile_text(d.MAX_METADATA_KEY))
        values = st.one_of(_at_most(8), hostile_text(d.MAX_METADATA_VALUE))
        count = draw(st.sampled_from([0, 1, 3, d.MAX_METADATA_ENTRIES, d.MAX_METADATA_ENTRIES + 1]))
        if count > 5:
            draft.metadata.update({f"k{i}": "v" for i in range(count)})
        else:
            draft.metadata.update(draw(st.dictionaries(keys, values, max_size=count)))
    huge = draw(st.sampled_from([None, None, None, "body", "subject", "idempotency_key", "tenant"]))
    if huge is not None:
        setattr(draft, huge, HUGE)
    if maybe():
        cust = draft.customer
        if maybe():
            cust.email = draw(emails())
        if maybe():
            cust.phone = draw(phones)
        if maybe():
            cust.account_id = draw(st.one_of(st.just("   "), hostile_text(ident.MAX_ACCOUNT)))
        if maybe():
            cust.display_name = draw(hostile_text(d.MAX_DISPLAY_NAME))
        if maybe():
            for network, handle in draw(socials()):
                cust.social.add(network=network, handle=handle)
    return draft


# ---- CloudEvents (HTTP and the raw topic) ---------------------------------------------------------
def json_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(json_chars, max_size=30),
    )


json_values = st.recursive(
    json_scalars(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(json_chars, max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def wrong_type() -> st.SearchStrategy[Any]:
    return st.one_of(json_values, st.just([]), st.just({}), st.just({"$ref": "x"}))


@st.composite
def json_drafts(draw: st.DrawFn) -> Any:
    """Half the time valid `data` with one or two fields taken from a hostile one, else wholly
    hostile `data` (json_hostile_drafts)."""
    hostile = draw(json_hostile_drafts())
    if not isinstance(hostile, dict) or draw(st.booleans()):
        return hostile
    data = json.loads(json.dumps(VALID_JSON))
    keys = sorted(hostile)
    for key in draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)) if keys else []:
        data[key] = hostile[key]
    return data


@st.composite
def json_hostile_drafts(draw: st.DrawFn) -> Any:
    """A CloudEvent's `data`: a ComplaintDraft as JSON, each field absent, plausible, hostile
    (lone surrogates included) or of the wrong type; sometimes not an object at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(wrong_type())
    data: dict[str, Any] = {}
    maybe = lambda: draw(st.booleans())  # noqa: E731

    def field(name: str, plausible: st.SearchStrategy[Any], limit: int) -> None:
        if maybe():
            data[name] = draw(st.one_of(plausible, hostile_text(limit, surrogates=True), wrong_type()))

    field("channel", st.sampled_from(["web", "EMAIL", "CHANNEL_CHAT", "fax", "", "channel_", 3]), 32)
    field("sector", st.sampled_from(["general", "b2b", "SECTOR_HEALTHCARE", "space"]), 32)
    field("complainant_role", st.sampled_from(["consumer", "student", "ROLE_X"]), 32)
    field("tenant", st.just("default"), d.MAX_TENANT)
    field("subject", st.just("Broken"), d.MAX_SUBJECT)
    field("body", st.just("It broke."), d.MAX_BODY)
    field("language", st.sampled_from(["fa", "en", "zz"]), d.MAX_LANGUAGE)
    field("product", st.just("kettle"), d.MAX_PRODUCT)
    field("category", st.just("returns"), d.MAX_CATEGORY)
    field("purchase_date", st.sampled_from(["2024-02-29", "9999-12-31", "2024-13-01"]), d.MAX_PURCHASE_DATE)
    field("idempotency_key", st.just("order-1"), d.MAX_IDEMPOTENCY_KEY)
    huge = draw(st.sampled_from([None, None, None, None, "body", "subject"]))
    if huge is not None:
        data[huge] = HUGE
    if maybe():
        data["metadata"] = draw(
            st.one_of(
                st.dictionaries(
                    st.text(json_chars, max_size=70),
                    st.one_of(st.text(json_chars, max_size=10), json_scalars()),
                    max_size=4,
                ),
                st.just({f"k{i}": "v" for i in range(d.MAX_METADATA_ENTRIES + 1)}),
                wrong_type(),
            )
        )
    if maybe():
        customer: dict[str, Any] = {}
        if maybe():
            customer["email"] = draw(st.one_of(emails(surrogates=True), wrong_type()))
        if maybe():
            customer["phone"] = draw(st.one_of(phones, wrong_type()))
        if maybe():
            customer["account_id"] = draw(
                st.one_of(hostile_text(ident.MAX_ACCOUNT, surrogates=True), wrong_type())
            )
        if maybe():
            customer["social"] = draw(
                st.one_of(
                    st.builds(
                        lambda xs: [{"network": n, "handle": h} for n, h in xs], socials(surrogates=True)
                    ),
                    wrong_type(),
                )
            )
        if maybe():
            customer[draw(st.text(json_chars, max_size=8))] = draw(json_values)
        data["customer"] = draw(st.one_of(st.just(customer), wrong_type())) if maybe() else customer
    if maybe():
        data[draw(st.text(json_chars, max_size=12))] = draw(json_values)  # an unknown field
    return data


CE_TYPES = [
    "haq.complaint.submitted.v1",
    "haq.complaint.followup.v1",
    "haq.v1.ComplaintReceived",
    "",
    "x" * 300,
]


@st.composite
def ce_attributes(draw: st.DrawFn) -> dict[str, Any]:
    """CloudEvent context attributes: well-formed but for up to two, each then missing, another
    plausible value, hostile or mistyped; sometimes an extension of any JSON value."""
    plausible = {
        "specversion": st.sampled_from(["1.0", "0.3", "2.0", ""]),
        "id": st.builds(lambda n: f"fuzz-{n}", st.integers(0, 10**9)),
        "source": st.sampled_from(["partner/crm", "helpdesk/webhook", "a:b", "/"]),
        "type": st.sampled_from(CE_TYPES),
        "datacontenttype": st.sampled_from(
            ["application/json", "text/plain", "application/cloudevents+json"]
        ),
        "time": st.sampled_from(["2024-01-01T00:00:00Z", "not a time", "9999-99-99T99:99:99Z"]),
    }
    canonical = {
        "specversion": "1.0",
        "source": "partner/crm",
        "type": CE_TYPES[0],
        "datacontenttype": "application/json",
        "time": "2024-01-01T00:00:00Z",
    }
    attrs = {name: canonical.get(name) or draw(strategy) for name, strategy in plausible.items()}
    # Zero, one or two attributes spoiled, so refusals come from the data too.
    for name in draw(st.lists(st.sampled_from(sorted(plausible)), max_size=2, unique=True)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            attrs[name] = draw(plausible[name])
        elif choice == 1:
            attrs[name] = draw(hostile_text(200, surrogates=True))
        elif choice == 2:
            attrs[name] = draw(wrong_type())
        else:
            del attrs[name]
    if draw(st.integers(0, 3)) == 0:
        attrs[draw(st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True))] = draw(json_values)  # an extension
    return attrs


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def to_json_bytes(value: Any) -> bytes:
    """JSON as a client would send it; lone surrogates become \\ud800 escapes (ensure_ascii)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False).encode()


@st.composite
def structured_bodies(draw: st.DrawFn) -> bytes:
    """The bytes of a structured-mode JSON CloudEvent: a fuzzed event, or broken bytes."""
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        event = draw(ce_attributes())
        if draw(st.integers(0, 5)):
            event["data"] = draw(json_drafts())
        return to_json_bytes(event)
    if kind == 6:
        return draw(st.binary(max_size=200))  # anything, invalid UTF-8 included
    if kind == 7:
        event = to_json_bytes(
            {"specversion": "1.0", "id": "x", "source": "s", "type": CE_TYPES[0], "data": draw(json_drafts())}
        )
        cut = draw(st.integers(0, len(event)))
        return event[:cut] + draw(st.sampled_from([b"", b"\xff", b"\xc3\x28", b"\x00", b"\xed\xa0\x80"]))
    if kind == 8:
        return deep_json(draw(st.sampled_from([1_000, 100_000])))
    return draw(st.sampled_from([b"", b"null", b"[]", b'"x"', b"1e999999", b"{" * 10, b'{"data": ' * 5000]))


# ---- agent actions (escalation CaseService) ------------------------------------------------------
def action_text(field: str) -> st.SearchStrategy[str]:
    return st.one_of(_at_most(20), hostile_text(esc_limits.limit_for(field)))
