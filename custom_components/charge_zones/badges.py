"""RFID badges: authorization decisions and the local authorization list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
import hashlib
import json
from typing import Any

from .const import BADGE_ACTIVE, BADGE_BLOCKED

ACCEPTED = "Accepted"
BLOCKED = "Blocked"
EXPIRED = "Expired"
INVALID = "Invalid"


@dataclass(frozen=True, slots=True)
class Badge:
    """One RFID badge."""

    tag: str
    holder: str
    status: str = BADGE_ACTIVE
    expiry: date | None = None

    @property
    def key(self) -> str:
        """OCPP idTags are case-insensitive (CiString20)."""
        return self.tag.upper()

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


class BadgeBook:
    """The badges of a site. No badge configured means nobody is accepted."""

    def __init__(self, badges: Iterable[Badge] = ()) -> None:
        """Build from badges."""
        self._badges: dict[str, Badge] = {}
        self.replace(badges)

    def replace(self, badges: Iterable[Badge]) -> None:
        """Replace every badge."""
        self._badges = {badge.key: badge for badge in badges}

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

    def local_list(self, tz: tzinfo) -> list[dict[str, Any]]:
        """Full local authorization list (SendLocalList entries, snake_case)."""
        entries: list[dict[str, Any]] = []
        for badge in sorted(self._badges.values(), key=lambda b: b.key):
            info: dict[str, Any] = {
                "status": BLOCKED if badge.status == BADGE_BLOCKED else ACCEPTED
            }
            if badge.expiry is not None:
                info["expiry_date"] = expiry_timestamp(badge.expiry, tz)
            entries.append({"id_tag": badge.tag, "id_tag_info": info})
        return entries

    def digest(self, tz: tzinfo) -> str:
        """Fingerprint of the local list: a new one means a new list version."""
        payload = json.dumps(self.local_list(tz), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:16]


def holder_key(name: str) -> str:
    """A holder's key: the name without case and with its spaces collapsed.

    "Alice  Martin" and "alice martin" are one holder (one total, one device).
    """
    return " ".join(name.split()).casefold()


def expiry_timestamp(day: date, tz: tzinfo) -> str:
    """End of the expiry day, local time, as an OCPP UTC timestamp."""
    end = datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)
    return end.isoformat(timespec="seconds").replace("+00:00", "Z")
