"""A small lending library written with the real ``eventsourcing`` library (9.x).

``make_samples.py`` runs it against SQLite persistence to produce the ``stored_events`` table of
``eventstore.sqlite``. Topics in that table name this module (``library:Book.Lent``), so the
events can be read back with the library itself when ``sample_logs/`` is on ``sys.path``.

Ids and timestamps are deterministic: aggregate ids are UUID5s of a natural key and every event
takes its timestamp from :data:`CLOCK`, which the generator advances.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Clock:
    """The time every new event gets; the generator moves it forward."""

    def __init__(self) -> None:
        self.now = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


CLOCK = Clock()
NAMESPACE = uuid5(NAMESPACE_URL, "https://example.org/tracer/library")


class LibraryAggregate(Aggregate):
    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return CLOCK.now


class Book(LibraryAggregate):
    @event("Registered")
    def __init__(self, isbn: str, title: str, author: str) -> None:
        self.isbn = isbn
        self.title = title
        self.author = author
        self.on_loan_to: UUID | None = None
        self.loans = 0

    @staticmethod
    def create_id(isbn: str, **_: object) -> UUID:
        return uuid5(NAMESPACE, f"book/{isbn}")

    @event("Lent")
    def lend(self, member_id: UUID, due: str) -> None:
        self.on_loan_to = member_id
        self.due = due
        self.loans += 1

    @event("Returned")
    def give_back(self, member_id: UUID, days_late: int) -> None:
        self.on_loan_to = None

    @event("Withdrawn")
    def withdraw(self, reason: str) -> None:
        self.withdrawn = reason


class Member(LibraryAggregate):
    @event("Joined")
    def __init__(self, card: str, name: str) -> None:
        self.card = card
        self.name = name
        self.balance = Decimal("0.00")

    @staticmethod
    def create_id(card: str, **_: object) -> UUID:
        return uuid5(NAMESPACE, f"member/{card}")

    @event("FineCharged")
    def charge(self, amount: Decimal, book_id: UUID) -> None:
        self.balance -= amount

    @event("FinePaid")
    def pay(self, amount: Decimal) -> None:
        self.balance += amount


class Library(Application):
    """Commands of the lending desk."""

    def register(self, isbn: str, title: str, author: str) -> UUID:
        book = Book(isbn=isbn, title=title, author=author)
        self.save(book)
        return book.id

    def join(self, card: str, name: str) -> UUID:
        member = Member(card=card, name=name)
        self.save(member)
        return member.id

    def lend(self, book_id: UUID, member_id: UUID, days: int) -> None:
        book: Book = self.repository.get(book_id)
        book.lend(member_id=member_id, due=(CLOCK.now + timedelta(days=days)).date().isoformat())
        self.save(book)

    def give_back(self, book_id: UUID, fine_per_day: Decimal) -> None:
        book: Book = self.repository.get(book_id)
        member_id = book.on_loan_to
        assert member_id is not None
        days_late = max(0, (CLOCK.now.date() - date.fromisoformat(book.due)).days)
        book.give_back(member_id=member_id, days_late=days_late)
        if days_late:
            member: Member = self.repository.get(member_id)
            member.charge(amount=fine_per_day * days_late, book_id=book_id)
            self.save(book, member)
        else:
            self.save(book)

    def pay(self, member_id: UUID) -> None:
        member: Member = self.repository.get(member_id)
        member.pay(amount=-member.balance)
        self.save(member)

    def withdraw(self, book_id: UUID, reason: str) -> None:
        book: Book = self.repository.get(book_id)
        book.withdraw(reason=reason)
        self.save(book)
