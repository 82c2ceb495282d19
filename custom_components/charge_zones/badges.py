"""RFID badges: authorization decisions and the local authorization list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
import hashlib
import json
from typing import Any

from .const import BADGE_ACTIVE, BADGE_BLOCKED

ACCEPTED = "Accepted"
BLOCKED = "Blocked"
EXPIRED = "Expired"
INVALID = "Invalid"
CONCURRENT_TX = "ConcurrentTx"


@dataclass(frozen=True, slots=True)
class Badge:
    """One RFID badge."""

    tag: str
    holder: str
    status: str = BADGE_ACTIVE
    expiry: date | None = None
    # The group's tag (parentIdTag), e.g. one household: any badge of the group may
    # stop a session another one started.
    group: str | None = None
    # How its sessions charge at a load-managed station (None: as the station does).
    charging_mode: str | None = None

    @property
    def key(self) -> str:
        """OCPP idTags are case-insensitive (CiString20)."""
        return self.tag.upper()

    @property
    def group_key(self) -> str | None:
        """The group's tag, case-insensitive (None: no group)."""
        return self.group.upper() if self.group else None

    def status_on(self, day: date) -> str:
        """OCPP authorization status of this badge on a given day."""
        if self.status == BADGE_BLOCKED:
            return BLOCKED
        if self.expiry is not None and day > self.expiry:
            return EXPIRED
        return ACCEPTED


@dataclass(frozen=True, slots=True)
class Decision:
    """Result of checking a badge."""

    tag: str
    status: str
    badge: Badge | None

    @property
    def accepted(self) -> bool:
        """Whether the badge may charge."""
        return self.status == ACCEPTED

    @property
    def holder(self) -> str | None:
        """The badge holder, when known."""
        return self.badge.holder if self.badge else None

    @property
    def group(self) -> str | None:
        """The badge's group (its parentIdTag), when it has one."""
        return self.badge.group if self.badge else None

    def concurrent(self) -> Decision:
        """The same badge refused because it is already charging elsewhere."""
        return Decision(self.tag, CONCURRENT_TX, self.badge)


class BadgeBook:
    """The badges of a site. No badge configured means nobody is accepted."""

    def __init__(self, badges: Iterable[Badge] = ()) -> None:
        """Build from badges."""
        self._badges: dict[str, Badge] = {}
        # The local list and its digest per (day, time zone): every boot asks for them.
        self._lists: dict[tuple[date, str], tuple[list[dict[str, Any]], str]] = {}
        # The day the badges were last evaluated on (set by the site, at each expiry).
        self.day: date | None = None
        self.replace(badges)

    def today(self, tz: tzinfo) -> date:
        """The (local) day to decide on: today, never before the day last evaluated."""
        real = datetime.now(tz).date()
        return self.day if self.day is not None and self.day > real else real

    def replace(self, badges: Iterable[Badge]) -> None:
        """Replace every badge."""
        self._badges = {badge.key: badge for badge in badges}
        self._lists.clear()

    def __len__(self) -> int:
        """Number of badges."""
        return len(self._badges)

    def get(self, tag: str) -> Badge | None:
        """A badge by tag (case-insensitive)."""
        return self._badges.get(tag.upper())

    def check(self, tag: str, today: date) -> Decision:
        """Decide on a badge presented on a given (local) day."""
        badge = self.get(tag)
        if badge is None:
            return Decision(tag, INVALID, None)
        return Decision(tag, badge.status_on(today), badge)

    def is_group_parent(self, tag: str) -> bool:
        """Whether a tag is the group tag (parentIdTag) of some badge."""
        key = tag.upper()
        return any(badge.group_key == key for badge in self._badges.values())

    def accepted_keys(self, today: date) -> frozenset[str]:
        """Tags (upper case) accepted on a given (local) day."""
        return frozenset(k for k, b in self._badges.items() if b.status_on(today) == ACCEPTED)

    def local_list(self, tz: tzinfo, today: date | None = None) -> list[dict[str, Any]]:
        """Full local authorization list (SendLocalList entries, snake_case).

        Each badge with its status on `today` (default: today in `tz`): a badge past
        its expiry goes out Expired, never Accepted with a past expiryDate.
        """
        return list(self._list(tz, today)[0])

    def _list(self, tz: tzinfo, today: date | None) -> tuple[list[dict[str, Any]], str]:
        day = today if today is not None else self.today(tz)
        key = (day, str(tz))
        if (known := self._lists.get(key)) is not None:
            return known
        entries: list[dict[str, Any]] = []
        for badge in sorted(self._badges.values(), key=lambda b: b.key):
            info: dict[str, Any] = {"status": badge.status_on(day)}
            if badge.expiry is not None:
                info["expiry_date"] = expiry_timestamp(badge.expiry, tz)
            if badge.group:
                info["parent_id_tag"] = badge.group
            entries.append({"id_tag": badge.tag, "id_tag_info": info})
        payload = json.dumps(entries, sort_keys=True).encode()
        if len(self._lists) > 8:  # days gone by
            self._lists.clear()
        known = self._lists[key] = (entries, hashlib.sha256(payload).hexdigest()[:16])
        return known

    def digest(self, tz: tzinfo, today: date | None = None) -> str:
        """Fingerprint of the local list: a new one means a new list version."""
        return self._list(tz, today)[1]

    def next_change(self, tz: tzinfo, now: datetime) -> datetime | None:
        """When the list changes next by itself: the first badge to expire (None: never).

        A badge expires at the end of its expiry day (local time): the list changes at
        the local midnight after it.
        """
        today = now.astimezone(tz).date()
        days = [
            b.expiry
            for b in self._badges.values()
            if b.expiry is not None and b.status_on(today) == ACCEPTED
        ]
        if not days:
            return None
        return datetime.combine(min(days) + timedelta(days=1), time(), tzinfo=tz)


def holder_key(name: str) -> str:
    """A holder's key: the name without case and with its spaces collapsed.

    "Alice  Martin" and "alice martin" are one holder (one total, one device).
    """
    return " ".join(name.split()).casefold()


def expiry_timestamp(day: date, tz: tzinfo) -> str:
    """End of the expiry day, local time, as an OCPP UTC timestamp."""
    end = datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)
    return end.isoformat(timespec="seconds").replace("+00:00", "Z")
