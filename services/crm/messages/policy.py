"""The rules of customer messages, apart from the database: which kinds there are, which
channels a customer may be reached on for which kind, quiet hours and retry backoff."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Channel(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"
    EMAIL = "email"


# The order a notice tries them in: the phone number every customer has first, then the
# channels a customer has to give us an address for.
CHANNEL_ORDER = (Channel.SMS, Channel.WECHAT, Channel.EMAIL)
# Channels whose message can carry a link the customer taps (WeChat's template message opens
# its url, email shows it). Never SMS: carriers filter texts with links, and a link in an SMS
# is what phishing looks like to the customer.
LINK_CHANNELS = frozenset({Channel.WECHAT, Channel.EMAIL})


class Category(StrEnum):
    SERVICE = "service"  # about the customer's own car and visit: sent at any hour, unless its kind waits
    MARKETING = "marketing"  # invitations: needs marketing consent, never in quiet hours


class Reach(StrEnum):
    ALL = "all"  # every channel the customer allows
    FIRST = "first"  # the first that works; a failure falls to the next


class Status(StrEnum):
    HELD = "held"  # waiting for what it needs to know (the order of a car-ready notice)
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider reported it reached the phone
    FAILED = "failed"
    SKIPPED = "skipped"  # not allowed: no consent, no address, provider not configured
    CANCELLED = "cancelled"  # no longer true or useful (booking cancelled, car collected)
    UNCONFIRMED = "unconfirmed"  # a crash hid the call's outcome and the provider cannot say; not sent again


OPEN = (Status.HELD, Status.QUEUED, Status.SENDING)
DONE_WELL = (Status.SENT, Status.DELIVERED)


@dataclass(frozen=True)
class Kind:
    name: str
    category: Category
    reach: Reach
    sms_template: str  # the template code registered with the SMS provider
    wechat_template: str  # the official account's template id
    # A service notice that can wait for the morning: news the customer can do nothing
    # about at night (a later promise, work to approve) waits out quiet hours as marketing
    # does; a car ready to collect does not, the customer may be on the way.
    waits_for_morning: bool = False

    def quiet_at_night(self) -> bool:
        return self.category == Category.MARKETING or self.waits_for_morning


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("booking_confirmed", Category.SERVICE, Reach.FIRST, "SMS_BOOKING_CONFIRMED", "TM_BOOKING_CONFIRMED"),
    Kind("booking_reminder", Category.SERVICE, Reach.FIRST, "SMS_BOOKING_REMINDER", "TM_BOOKING_REMINDER"),
    Kind("car_ready", Category.SERVICE, Reach.ALL, "SMS_CAR_READY", "TM_CAR_READY"),
    Kind("parts_delayed", Category.SERVICE, Reach.FIRST, "SMS_PARTS_DELAYED", "TM_PARTS_DELAYED"),
    Kind("order_delayed", Category.SERVICE, Reach.FIRST, "SMS_ORDER_DELAYED", "TM_ORDER_DELAYED",
         waits_for_morning=True),
    # Every channel: an SMS cannot carry the link to approve the estimate, WeChat and email can.
    Kind("extra_work", Category.SERVICE, Reach.ALL, "SMS_EXTRA_WORK", "TM_EXTRA_WORK", waits_for_morning=True),
    Kind("first_maintenance_thanks", Category.SERVICE, Reach.FIRST, "SMS_FIRST_MAINTENANCE_THANKS",
         "TM_FIRST_MAINTENANCE_THANKS"),
    Kind("callback_notice", Category.SERVICE, Reach.FIRST, "SMS_CALLBACK_NOTICE", "TM_CALLBACK_NOTICE"),
    Kind("first_maintenance_invitation", Category.MARKETING, Reach.FIRST, "SMS_MAINTENANCE_INVITATION",
         "TM_MAINTENANCE_INVITATION"),
    Kind("periodic_maintenance_invitation", Category.MARKETING, Reach.FIRST, "SMS_MAINTENANCE_INVITATION",
         "TM_MAINTENANCE_INVITATION"),
    # A service campaign's invitation is marketing. A recall's is a safety notice, written as
    # a service message (`campaign_category`): the owner is told even without marketing
    # consent. Both wait out the night: a repair that takes a booking weeks ahead is no
    # reason to wake 100,000 owners.
    Kind("campaign_invitation", Category.MARKETING, Reach.FIRST, "SMS_CAMPAIGN_INVITATION",
         "TM_CAMPAIGN_INVITATION", waits_for_morning=True),
)}


def campaign_category(campaign_kind: str) -> Category:
    return Category.SERVICE if campaign_kind == "recall" else Category.MARKETING


@dataclass(frozen=True)
class ChannelConsent:
    """What the customer allows on one channel, and where it reaches them (None: nowhere)."""

    channel: Channel
    address: str | None
    service: bool
    marketing: bool
    recorded: bool  # False: the default from the customer's contact preferences

    def allows(self, category: Category) -> bool:
        return self.address is not None and (self.service if category == Category.SERVICE else self.marketing)


def default_consent(channel: Channel, phone: str, preferences: dict) -> ChannelConsent:
    """Before anyone records consent on a channel: SMS reaches the phone reception took, on
    the terms of the customer's contact preferences; WeChat and email need an address first."""
    agreed = channel.value in preferences.get("channels", [])
    address = phone if channel == Channel.SMS else None
    return ChannelConsent(channel, address, agreed, agreed and not preferences.get("marketing_opt_out"), False)


def reachable(consents: dict[Channel, ChannelConsent], category: Category, preferences: dict) -> list[ChannelConsent]:
    """The channels a message of `category` may go on, in the order they are tried. A
    customer who opted out of marketing altogether gets none on any channel."""
    if category == Category.MARKETING and preferences.get("marketing_opt_out"):
        return []
    return [consents[c] for c in CHANNEL_ORDER if c in consents and consents[c].allows(category)]


# Supplement lines an advisor adds one after another are one proposal to the customer: the
# notice waits this long after the latest line, so it names them all and their sum.
EXTRA_WORK_GATHER = timedelta(minutes=5)


def parse_hhmm(text: str) -> time:
    return time.fromisoformat(text)


def quiet_until(instant: datetime, zone: ZoneInfo, quiet_from: time, quiet_until_: time) -> datetime | None:
    """When quiet hours that hold at `instant` end (the store's clock), or None outside them.
    The span may run over midnight (21:00-09:00) or not (12:00-14:00)."""
    local = instant.astimezone(zone)
    now = local.time()
    if quiet_from == quiet_until_:
        return None
    if quiet_from < quiet_until_:
        inside = quiet_from <= now < quiet_until_
        end_day = local.date()
    else:
        inside = now >= quiet_from or now < quiet_until_
        end_day = local.date() + timedelta(days=1) if now >= quiet_from else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, quiet_until_, tzinfo=zone).astimezone(UTC)


def backoff(failures: int, base_seconds: float, max_seconds: float, provider_asks: float | None = None) -> timedelta:
    """How long to wait after the `failures`-th failure that may pass: doubling from `base`,
    at most `max`, and never sooner than the provider asked."""
    wait = min(base_seconds * 2 ** max(failures - 1, 0), max_seconds)
    if provider_asks is not None:
        wait = max(wait, min(provider_asks, max_seconds))
    return timedelta(seconds=wait)
