"""Group commit on a real SQLite file: concurrent callers share transactions, each answer comes after
its own work is durable, and a failing unit fails only its own caller."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlmodel import Field, Session, SQLModel, select

from services.common.db import make_engine
from services.common.group_commit import GROUP_SIZE, GroupCommit


class Note(SQLModel, table=True):
    __tablename__ = "test_notes"
    id: int = Field(primary_key=True)
    text: str


@pytest.fixture
def group(tmp_path: Path, request: pytest.FixtureRequest) -> GroupCommit:
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    SQLModel.metadata.create_all(engine, tables=[Note.__table__])
    return GroupCommit(engine, request.node.name, max_group=16)  # a metric label of its own


def committed(group: GroupCommit) -> tuple[float, float]:
    """(groups committed, units in them) from the group-size histogram."""
    samples = [s for m in GROUP_SIZE.collect() for s in m.samples if s.labels.get("service") == group.label]
    count = next(s.value for s in samples if s.name.endswith("_count"))
    total = next(s.value for s in samples if s.name.endswith("_sum"))
    return count, total


def add(i: int):
    def work(session: Session) -> int:
        if i == 13:
            raise ValueError("thirteen is refused")
        session.add(Note(id=i, text=f"n{i}"))
        return i

    return work


def stored(group: GroupCommit) -> list[int]:
    with Session(group.engine) as s:
        return sorted(n.id for n in s.exec(select(Note)))


def test_concurrent_callers_share_transactions_and_one_failure_stays_its_own(group: GroupCommit) -> None:
    results: dict[int, object] = {}
    gate = threading.Barrier(40)

    def call(i: int) -> None:
        gate.wait()
        try:
            results[i] = group.run(add(i))
        except ValueError as exc:
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert isinstance(results.pop(13), ValueError)
    assert results == {i: i for i in range(40) if i != 13}
    assert stored(group) == [i for i in range(40) if i != 13]
    assert committed(group)[1] == 39


def test_a_unit_that_sees_an_earlier_unit_of_its_group(group: GroupCommit) -> None:
    group.run(add(1))

    def reads(session: Session) -> str:
        note = session.get(Note, 1)
        return note.text if note else "missing"

    assert group.run(reads) == "n1"


def test_callers_that_arrive_while_a_commit_runs_are_committed_together(group: GroupCommit) -> None:
    release = threading.Event()

    def slow(session: Session) -> int:
        release.wait(10)  # the committer is busy: the next callers queue up
        session.add(Note(id=100, text="slow"))
        return 100

    first = threading.Thread(target=group.run, args=(slow,))
    first.start()
    waiting = [threading.Thread(target=group.run, args=(add(200 + i),)) for i in range(10)]
    for t in waiting:
        t.start()
    while group._queue.qsize() < 10:
        threading.Event().wait(0.01)
    release.set()
    for t in (first, *waiting):
        t.join(30)
    assert stored(group) == [100, *range(200, 210)]
    # two groups: the slow one alone, then the ten that queued behind it in one transaction
    assert committed(group) == (2, 11)


def test_the_work_runs_in_its_callers_context(group: GroupCommit) -> None:
    """The trace span of the gRPC call is a context variable: the staged events must carry it."""
    import contextvars

    caller = contextvars.ContextVar("caller", default="the committer thread")
    caller.set("the gRPC handler")
    assert group.run(lambda session: caller.get()) == "the gRPC handler"
