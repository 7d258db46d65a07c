"""The portal's use cases: submit, ask for a follow link, open it, read and answer one's own
complaints, rate a resolution. Blocking (gRPC to intake, the portal's database): the web layer
runs them in threads.

Events leave through the portal's own outbox (PortalLinkRequested, ComplaintRated), committed in
the same transaction as the link or the rating they announce, so neither is lost nor sent for a
row that was not stored.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, update

from services.common import topics
from services.common.codec import new_event
from services.common.db import utcnow
from services.common.outbox import OutboxRelay, stage
from services.common.pb.haq.v1 import complaint_pb2, events_pb2, intake_pb2
from services.common.proto_values import enum_name, to_timestamp

from .adapters import db
from .adapters.intake import IntakeClient, IntakeError
from .domain import links
from .settings import PortalSettings

SOURCE = "/haq/portal"
MAX_REPLY = 10_000
MAX_COMMENT = 2_000
RATEABLE = ("resolved", "closed")


class Refused(ValueError):
    """Bad input: `field` names it (shown to the customer as "please check")."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True)
class Signed:
    """The signed-in customer of one request."""

    tenant: str
    customer_id: str
    csrf: str
    customer_ids: frozenset[str]  # the ids intake lists for them (profile merges included)
    complaints: tuple[intake_pb2.ComplaintSummary, ...]


class Portal:
    def __init__(
        self,
        engine: Engine,
        intake: IntakeClient,
        settings: PortalSettings,
        *,
        tenant: str,
        public_url: str,
        relay: OutboxRelay | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.intake = intake
        self.settings = settings
        self.tenant = tenant
        self.public_url = public_url.rstrip("/")
        self.relay = relay
        self.clock = clock

    # ---- follow links -----------------------------------------------------------------------
    def request_link(self, reference: str, contact: str, client: str) -> str:
        """ "sent" (whether or not the details matched: the answer never tells which references
        exist) or "limited" (too many requests for this reference or from this client)."""
        reference, contact = reference.strip(), contact.strip()
        if not reference or len(reference) > links.MAX_REFERENCE:
            raise Refused("reference", f"required, at most {links.MAX_REFERENCE} characters")
        if not contact or len(contact) > links.MAX_CONTACT:
            raise Refused("contact", f"required, at most {links.MAX_CONTACT} characters")
        now = self.clock()
        since = now - timedelta(seconds=self.settings.link_request_window_s)
        keys = {"ref:" + reference.upper(): self.settings.link_requests_per_reference}
        keys["client:" + client[:100]] = self.settings.link_requests_per_client
        with Session(self.engine) as session:
            limited = any(
                not links.within_limit(db.count_requests(session, k, since), n) for k, n in keys.items()
            )
            for key in keys:
                session.add(db.LinkRequestRow(key=key, at=now))
            db.prune(session, now, self.settings.link_request_window_s)
            session.commit()
        if limited:
            return "limited"
        try:
            case = self.intake.case_file(reference, self.tenant)
        except IntakeError as exc:
            if exc.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
                return "sent"
            raise
        complaint = case.complaint
        on_record = [complaint.customer.email, complaint.customer.phone]
        if not links.contact_matches(contact, on_record):
            try:  # any identifier of the customer's profile (e.g. a phone given on a later complaint)
                profile = self.intake.customer(complaint.customer_id, self.tenant).customer
                on_record += [*profile.emails, *profile.phones]
            except IntakeError:
                pass
        if links.contact_matches(contact, on_record):
            self._issue(complaint, now)
        return "sent"

    def _issue(self, complaint: complaint_pb2.Complaint, now: datetime) -> None:
        issued = links.issue_link(now, self.settings.link_ttl_s)
        link_id = str(uuid.uuid4())
        event = events_pb2.PortalLinkRequested(
            complaint_id=complaint.id,
            link_id=link_id,
            url=f"{self.public_url}/link/{issued.token}",
            purpose="follow",
        )
        event.expires_at.CopyFrom(to_timestamp(issued.expires_at))
        with Session(self.engine) as session:
            session.add(
                db.LinkRow(
                    token_hash=issued.token_hash, link_id=link_id, tenant=complaint.tenant or self.tenant,
                    complaint_id=complaint.id, customer_id=complaint.customer_id, created_at=now,
                    expires_at=issued.expires_at,
                )
            )  # fmt: skip
            stage(
                session,
                new_event(
                    event, source=SOURCE, subject=complaint.id, event_id=f"portal-link:{link_id}", time=now
                ),
                topics.LIFECYCLE_TOPIC,
            )
            session.commit()
        if self.relay is not None:
            self.relay.wake()

    def open_link(self, token: str) -> str | None:
        """The session token for a usable link (the link is used up), else None."""
        if not token or len(token) > links.MAX_TOKEN:
            return None
        now = self.clock()
        hashed = links.token_hash(token)
        with Session(self.engine) as session:
            row = session.get(db.LinkRow, hashed)
            if row is None or not links.link_usable(db.aware(row.expires_at), row.used_at, now):
                return None
            # Compare-and-set: two tabs opening one link at once get one session between them.
            taken = session.exec(
                update(db.LinkRow)
                .where(col(db.LinkRow.token_hash) == hashed, col(db.LinkRow.used_at).is_(None))
                .values(used_at=now)
            ).rowcount
            if taken != 1:
                session.rollback()
                return None
            session_token = links.new_token()
            session.add(
                db.SessionRow(
                    token_hash=links.token_hash(session_token), tenant=row.tenant, customer_id=row.customer_id,
                    csrf=secrets.token_urlsafe(24), created_at=now,
                    expires_at=now + timedelta(seconds=self.settings.session_ttl_s),
                )
            )  # fmt: skip
            session.commit()
        return session_token

    def signed_in(self, session_token: str | None) -> Signed | None:
        """The customer of a session cookie, with the complaints intake lists for them."""
        if not session_token or len(session_token) > links.MAX_TOKEN:
            return None
        with Session(self.engine) as session:
            row = session.get(db.SessionRow, links.token_hash(session_token))
        if row is None or db.aware(row.expires_at) <= self.clock():
            return None
        try:
            listing = self.intake.customer(row.customer_id, row.tenant)
        except IntakeError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise
        ids = frozenset({row.customer_id, listing.customer.customer_id})
        return Signed(row.tenant, row.customer_id, row.csrf, ids, tuple(listing.complaints))

    def sign_out(self, session_token: str | None) -> None:
        if not session_token or len(session_token) > links.MAX_TOKEN:
            return
        with Session(self.engine) as session:
            row = session.get(db.SessionRow, links.token_hash(session_token))
            if row is not None:
                session.delete(row)
                session.commit()

    # ---- the customer's own complaints ------------------------------------------------------
    def case_for(self, who: Signed, reference: str) -> intake_pb2.CaseFile | None:
        """The case file when the complaint is this customer's; None otherwise (also when it
        does not exist: the two read the same)."""
        if not reference or len(reference) > links.MAX_REFERENCE:
            return None
        if not any(reference in (c.reference, c.complaint_id) for c in who.complaints):
            return None
        try:
            case = self.intake.case_file(reference, who.tenant)
        except IntakeError as exc:
            if exc.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
                return None
            raise
        if not links.may_see(who.customer_ids, case.complaint.customer_id):
            return None
        return case

    def public_messages(self, complaint_id: str) -> list[db.PublicMessageRow]:
        with Session(self.engine) as session:
            return db.public_messages(session, complaint_id)

    def reply(self, who: Signed, reference: str, body: str, key: str) -> bool:
        """Add the customer's reply as a follow-up (intake's AddFollowUp, which resumes the clocks
        that wait on the customer). False when the complaint is not theirs."""
        if not body.strip():
            raise Refused("body", "required")
        if len(body) > MAX_REPLY:
            raise Refused("body", f"at most {MAX_REPLY} characters")
        case = self.case_for(who, reference)
        if case is None:
            return False
        self.intake.follow_up(case.complaint.id, body, f"portal:{key[:80]}", who.tenant)
        return True

    # ---- ratings ----------------------------------------------------------------------------
    def rating_of(self, complaint_id: str) -> db.RatingRow | None:
        with Session(self.engine) as session:
            return session.get(db.RatingRow, complaint_id)

    def case_by_id(self, complaint_id: str) -> intake_pb2.CaseFile | None:
        try:
            return self.intake.case_file(complaint_id, self.tenant)
        except IntakeError as exc:
            if exc.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
                return None
            raise

    def rate(self, case: intake_pb2.CaseFile, rating: int, comment: str) -> str:
        """Record the customer's rating and announce it (ComplaintRated on the lifecycle topic).
        One rating per complaint: a later one replaces it (the customer may change their mind;
        CSAT counts the latest). Returns the rating id."""
        if not 1 <= rating <= 5:
            raise Refused("rating", "1 to 5")
        comment = comment.strip()
        if len(comment) > MAX_COMMENT:
            raise Refused("comment", f"at most {MAX_COMMENT} characters")
        status = enum_name(complaint_pb2.ComplaintStatus, case.status)
        if status not in RATEABLE:
            raise Refused("rating", "the complaint is not resolved")
        now = self.clock()
        complaint = case.complaint
        rating_id = str(uuid.uuid4())
        event = events_pb2.ComplaintRated(
            complaint_id=complaint.id, rating_id=rating_id, rating=rating, comment=comment, team=case.team,
            sector=enum_name(complaint_pb2.Sector, complaint.sector), channel=complaint.channel,
        )  # fmt: skip
        event.rated_at.CopyFrom(to_timestamp(now))
        with Session(self.engine) as session:
            row = session.get(db.RatingRow, complaint.id)
            if row is None:
                row = db.RatingRow(
                    complaint_id=complaint.id, rating_id=rating_id, rating=rating, rated_at=now
                )
            row.rating_id, row.rating, row.comment, row.rated_at = rating_id, rating, comment, now
            session.add(row)
            stage(
                session,
                new_event(
                    event, source=SOURCE, subject=complaint.id, event_id=f"rated:{rating_id}", time=now
                ),
                topics.LIFECYCLE_TOPIC,
            )
            session.commit()
        if self.relay is not None:
            self.relay.wake()
        return rating_id

    # ---- submit -----------------------------------------------------------------------------
    def submit(self, draft: complaint_pb2.ComplaintDraft) -> intake_pb2.SubmitComplaintResponse:
        draft.channel = complaint_pb2.CHANNEL_WEB
        draft.metadata["source"] = "portal"
        return self.intake.submit(draft)
