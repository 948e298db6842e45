"""Events CRM emits."""
from __future__ import annotations

from datetime import date, datetime

from ..envelope import Event, event_type


class _CallbackEvent(Event):
    callback_id: str
    store_id: str
    repair_order_id: str | None = None
    kind: str  # first | follow_up
    due_at: datetime


@event_type("crm.callback.created", aggregate="callback")
class CallbackCreated(_CallbackEvent):
    created_at: datetime
    complaint_id: str | None = None


@event_type("crm.callback.completed", aggregate="callback")
class CallbackCompleted(_CallbackEvent):
    completed_at: datetime
    agent: str  # the person who recorded the survey (or a machine's own key)
    # Their name and the key or sign-in they used; absent from events sent before they were carried.
    agent_name: str | None = None
    agent_credential: str | None = None
    on_time: bool
    answers: dict[str, int]
    overall: int | None = None
    attempts: int


@event_type("crm.callback.unreachable", aggregate="callback")
class CallbackUnreachable(_CallbackEvent):
    attempts: int
    marked_at: datetime
    # The person whose unanswered attempt made it unreachable (or a machine's own key), their
    # name and the key or sign-in they used; absent from events sent before they were carried.
    marked_by: str | None = None
    marked_by_name: str | None = None
    marked_by_credential: str | None = None


class _ComplaintEvent(Event):
    complaint_id: str
    store_id: str
    department: str
    severity: str
    repair_order_id: str | None = None
    customer_id: str | None = None


@event_type("crm.complaint.opened", aggregate="complaint")
class ComplaintOpened(_ComplaintEvent):
    source: str  # survey | manual
    due_at: datetime
    opened_at: datetime
    # The person who opened it (for a survey's complaint, the agent who recorded the survey; or
    # a machine's own key), their name and the key or sign-in they used; absent from events
    # sent before they were carried.
    opened_by: str | None = None
    opened_by_name: str | None = None
    opened_by_credential: str | None = None


@event_type("crm.complaint.escalated", aggregate="complaint")
class ComplaintEscalated(_ComplaintEvent):
    reason: str  # critical | overdue
    due_at: datetime
    escalated_at: datetime


@event_type("crm.complaint.closed", aggregate="complaint")
class ComplaintClosed(_ComplaintEvent):
    resolution: str
    opened_at: datetime
    closed_at: datetime
    # Who closed it: the agent who recorded the satisfied follow-up survey, or the person who
    # resolved a complaint with no customer to call back; their name and the key or sign-in
    # they used. Absent from events sent before they were carried.
    closed_by: str | None = None
    closed_by_name: str | None = None
    closed_by_credential: str | None = None


@event_type("crm.reminder.sent", aggregate="reminder")
class ReminderSent(Event):
    reminder_id: str
    store_id: str
    vin: str
    kind: str  # first_maintenance | periodic_maintenance
    channel: str
    sent_at: datetime
    # The person who sent it (or a machine's own key; "customer-messages" for a letter CRM's
    # own messages sent), their name and the key or sign-in they used; absent from events sent
    # before they were carried.
    sent_by: str | None = None
    sent_by_name: str | None = None
    sent_by_credential: str | None = None


@event_type("crm.customer.churn_detected", aggregate="customer")
class CustomerChurnDetected(Event):
    customer_id: str
    store_id: str
    level: str  # at_risk | lost
    last_visit_at: datetime | None = None
    reason: str
    detected_at: datetime


class _ReturnRepairEvent(Event):
    return_repair_id: str
    store_id: str
    vin: str
    customer_id: str | None = None
    repair_order_id: str | None = None  # the order the customer says needs doing again


@event_type("crm.return_repair.reported", aggregate="return_repair")
class ReturnRepairReported(_ReturnRepairEvent):
    """A customer reported on a call that the repair needs doing again: the service manager's to act on."""

    description: str
    reported_via: str  # callback:<id> | call:<id>
    reported_at: datetime
    # The person who took the report on the call (or a machine's own key), their name and the
    # key or sign-in they used; absent from events sent before they were carried.
    reported_by: str | None = None
    reported_by_name: str | None = None
    reported_by_credential: str | None = None


@event_type("crm.return_repair.came_back", aggregate="return_repair")
class ReturnRepairCameBack(_ReturnRepairEvent):
    """The car of a reported return repair was brought in again: that order is the comeback."""

    comeback_repair_order_id: str
    came_back_at: datetime


@event_type("crm.vehicle.transferred", aggregate="vehicle")
class VehicleTransferred(Event):
    """A car changed owner (过户): from now on CRM speaks to the new owner about it. Warranty
    stays with the VIN (network), so nothing there moves."""

    transfer_id: str
    vin: str
    store_id: str  # the car's home store
    from_customer_id: str
    to_customer_id: str
    papers_reference: str
    transfer_date: date
    reminders_moved: int
    transferred_by: str  # the person (or a machine's own key)
    transferred_by_name: str | None = None
    transferred_by_credential: str | None = None
    transferred_at: datetime


@event_type("crm.customer_base.changed", aggregate="advisor")
class CustomerBaseChanged(Event):
    """An advisor's customer base (the cars whose last visit they served, or were given when
    the advisor who had them left) as it stands now: sent when it changes and once a day, so
    that retention, which falls as time passes without a visit, stays current. Network's
    appraisal reads the latest per advisor."""

    store_id: str
    advisor_id: str  # the person
    advisor_name: str | None = None
    vehicles: int  # cars in the base
    retained: int  # of them, cars with a visit in the last twelve months
    gained: int = 0  # cars added since the last snapshot (served, reassigned or transferred in)
    lost: int = 0  # cars gone since the last snapshot (served by another advisor, reassigned away)
    counted_at: datetime
