"""CRM's part: the callback desk (surveys after handover, the owners' club, maintenance
reminders) and complaints (an owner, a resolution, and a second call to hear it is settled)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from services.common import reference
from tools.client import wait_for
from tools.demo.agenda import FREE
from tools.demo.catalogue import PHONED_COMPLAINTS, RESOLUTIONS, VERBATIMS
from tools.demo.clock import GRID, HOUR, ceil_grid, floor_hour
from tools.demo.fate import CallbackPlan, Mood
from tools.demo.records import Order
from tools.demo.summary import Tally

if TYPE_CHECKING:
    from tools.demo.store import StoreSim

BODYWORK = ("bumper", "panel", "windshield")


class SurveyAnswers(NamedTuple):
    answers: dict[str, int]  # question code -> 1..5
    verbatim: str | None  # the customer's own words


def survey_answers(order: Order, rng: random.Random) -> SurveyAnswers:
    """Mostly fives and fours; a meh customer gives threes, an unhappy one marks down the
    department that let them down and says why."""
    questions = [q for q in reference.survey()["questions"] if not q.get("optional")]
    answers = {q["code"]: rng.choices([5, 4], [70, 30])[0] for q in questions}
    if order.work.kind in BODYWORK:
        answers["paint"] = rng.choices([5, 4, 3], [60, 30, 10])[0]
    if order.fate.mood == Mood.MEH:
        answers["overall"] = 3
        answers[rng.choice(["speed", "advisor", "cleanliness"])] = 3
        return SurveyAnswers(answers, rng.choice(["还行吧,一般般。", "等得有点久。", None]))
    if order.fate.mood == Mood.UNHAPPY:
        department = order.fate.unhappy_with
        codes = [q["code"] for q in questions if q["department"] == department]
        answers[rng.choice(codes)] = rng.choice([1, 2, 2])
        answers["overall"] = rng.choice([2, 3, 3, 4])
        return SurveyAnswers(answers, rng.choice(VERBATIMS[department]))
    return SurveyAnswers(answers, rng.choice([None, None, "服务很好,谢谢!", "很满意,下次还来。", "顾问很专业。"]))


class CallbackDesk:
    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo

    async def collect(self) -> None:
        """Every car handed over today has its callback in CRM; the desk plans the calls."""
        store, reception = self.store, self.store.reception
        todays, reception.delivered_today = sorted(reception.delivered_today, key=lambda o: o.key), []
        if not todays:
            return
        wanted = {o.id for o in todays}
        found: dict[str, dict] = {}

        async def all_there() -> bool:
            cursor = None
            while True:
                page = await store.callback_desk.get("/api/crm/v1/callbacks", status="pending", kind="first",
                                                     limit=200, cursor=cursor, **store.for_desk())
                found.update({c["repair_order_id"]: c for c in page["items"] if c["repair_order_id"] in wanted})
                cursor = page.get("next_cursor")
                if not cursor:
                    return len(found) == len(wanted)

        await wait_for(all_there, self.demo.config.timeout, interval=0.3, what=f"callbacks of {store.code}")
        for order in todays:
            assert order.id is not None
            self.plan_call(order, found[order.id])
            await self.record_consent(order, found[order.id])
        for order in todays:
            if order.fate.club_join:
                await self.join_club(order)

    async def record_consent(self, order: Order, callback: dict) -> None:
        """At handover some customers follow the store's WeChat account, some leave an email
        address; CRM's messages then reach them there too (SMS needs no asking: reception has
        the number)."""
        rng = random.Random(f"{self.demo.config.seed}:consent:{order.key}")
        customer_id = callback.get("customer_id")
        if not customer_id or rng.random() > 0.45:
            return
        body: dict = {}
        if rng.random() < 0.7:
            body["wechat"] = {"openid": f"o{customer_id.replace('-', '')[-20:]}", "service": True,
                              "marketing": rng.random() < 0.8}
        else:
            body["email"] = {"address": f"c{customer_id.replace('-', '')[-12:]}@example.cn", "service": True,
                             "marketing": rng.random() < 0.5}
        await self.store.callback_desk.call("PUT", f"/api/crm/v1/customers/{customer_id}/consent", body,
                                            expect=(200,))
        self.demo.count(Tally.CONSENTS_RECORDED)

    def plan_call(self, order: Order, callback: dict) -> None:
        """Most calls are made before they are due; some customers need a second try,
        some calls slip a day, a few customers are never reached or decline."""
        store = self.store
        due = datetime.fromisoformat(callback["due_at"])
        before = floor_hour(due - GRID)
        path = f"/api/crm/v1/callbacks/{callback['id']}"
        plan, key = order.fate.callback, order.key
        if plan == CallbackPlan.ON_TIME:
            store.at(before, "callback", lambda: self.call(path, order, []), FREE, key)
        elif plan == CallbackPlan.RETRY:
            store.at(before - 2 * HOUR, "callback (no answer)",
                     lambda: self.call(path, order, ["no_answer"], survey=False), FREE, key)
            store.at(before, "callback (again)", lambda: self.call(path, order, []), FREE, key)
        elif plan == CallbackPlan.LATE:
            store.at(store.local(store.local_day(due) + timedelta(days=1), 10), "late callback",
                     lambda: self.call(path, order, []), FREE, key)
        elif plan == CallbackPlan.UNREACHABLE:
            day = store.local_day(due)
            store.at(before, "callback (no answer)",
                     lambda: self.call(path, order, ["no_answer"], survey=False), FREE, key)
            store.at(store.local(day, 17), "callback (wrong number?)",
                     lambda: self.call(path, order, ["wrong_number"], survey=False), FREE, key)
            store.at(store.local(day + timedelta(days=1), 11), "callback (third try)",
                     lambda: self.call(path, order, ["no_answer"], survey=False), FREE, key)
        else:
            store.at(before, "callback declined", lambda: self.decline(path), FREE, key)

    async def call(self, path: str, order: Order, unanswered: list[str], survey: bool = True) -> None:
        desk = self.store.callback_desk
        for outcome in unanswered:
            answer = await desk.post(f"{path}/attempts", {"outcome": outcome, "note": "will try again"})
            if answer["status"] == "unreachable":
                self.demo.count(Tally.CALLBACKS_UNREACHABLE)
        if not survey:
            return
        # Reached: the survey records the answered attempt itself.
        said = survey_answers(order, random.Random(f"{self.demo.config.seed}:{order.key}:survey"))
        done = await desk.post(f"{path}/survey", {"answers": said.answers, "verbatim": said.verbatim})
        self.demo.count(Tally.CALLBACKS_COMPLETED)
        for complaint_id in done["survey"]["complaints_opened"]:
            self.demo.count(Tally.COMPLAINTS_OPENED)
            self.store.complaints.handle(complaint_id, order, f"{order.key}:survey")

    async def decline(self, path: str) -> None:
        await self.store.callback_desk.post(f"{path}/cancel", {"reason": "customer declined the survey"})
        self.demo.count(Tally.CALLBACKS_CANCELLED)

    async def join_club(self, order: Order) -> None:
        """Signed up at handover: the next callback comes after one day."""
        store = self.store
        desk = store.callback_desk

        async def on_file() -> dict | None:
            page = await desk.get("/api/crm/v1/customers", phone=order.customer.phone, **store.for_desk())
            return page["items"][0] if page["items"] else None

        customer = await wait_for(on_file, self.demo.config.timeout, what=f"customer {order.customer.phone}")
        if customer["club_member"]:
            return
        await desk.call("PATCH", f"/api/crm/v1/customers/{customer['id']}",
                        {"club_member": True, "version": customer["version"]}, expect=(200,))
        self.demo.count(Tally.CLUB_MEMBERS)

    async def letters_settled(self, reminder_id: str) -> list[dict]:
        """A reminder's letters once CRM's sender has dealt with every one that is due (it
        works on its own, within a second of the platform's clock): what the desk sees must
        not depend on how quickly that was. A letter held for later (quiet hours, a retry)
        stays queued."""
        store = self.store

        async def settled() -> tuple[list[dict]] | None:
            letters = (await store.callback_desk.get("/api/crm/v1/messages", about=reminder_id,
                                                     **store.for_desk()))["items"]
            now = self.demo.clock.now()
            busy = [m for m in letters if m["status"] == "sending"
                    or (m["status"] == "queued" and datetime.fromisoformat(m["next_attempt_at"]) <= now)]
            return None if busy else (letters,)

        (letters,) = await wait_for(settled, self.demo.config.timeout, interval=0.2,
                                    what=f"CRM's sender to deal with the letters of reminder {reminder_id}")
        return letters

    async def send_reminders(self) -> None:
        """The maintenance reminders CRM's nightly run made go out as letters through CRM's
        messages, which mark them sent; the desk phones those whose letter could not go (no
        channel the customer allows for invitations, or every channel failed)."""
        store = self.store
        desk = store.callback_desk
        page = await desk.get("/api/crm/v1/reminders", status="pending", limit=200, **store.for_desk())
        for reminder in sorted(page["items"], key=lambda r: r["vin"]):
            letters = await self.letters_settled(reminder["id"])
            if any(m["status"] in ("queued", "sending", "sent", "delivered") for m in letters):
                continue  # on its way, or sent and about to be marked so
            # 409: the letter was marked sent in the meantime.
            await desk.call("POST", f"/api/crm/v1/reminders/{reminder['id']}/sent", {"channel": "phone"},
                            expect=(200, 409))
            self.demo.count(Tally.REMINDERS_PHONED)


class ComplaintDesk:
    """The store manager owns its complaints; HQ's care centre owns an outlet's. Each
    complaint is named in the story by `key` (never its id, which the platform makes)."""

    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo

    def handle(self, complaint_id: str, order: Order | None, key: str) -> None:
        self.store.at(ceil_grid(self.demo.tick + GRID, HOUR), "assign complaint",
                      lambda: self.assign(complaint_id, order, key), FREE, key)

    async def assign(self, complaint_id: str, order: Order | None, key: str) -> None:
        store = self.store
        owner = store.complaint_owner
        complaint = await owner.api.post(f"/api/crm/v1/complaints/{complaint_id}/assign",
                                         {"owner": owner.principal_id})
        key = f"{key}:{complaint['department']}"
        rng = random.Random(f"{self.demo.config.seed}:{key}:complaint")
        late = order.fate.complaint_late if order else rng.random() < 0.2
        due = datetime.fromisoformat(complaint["due_at"])
        # On time: the next day. Late: the day after the deadline, once it was escalated.
        when = (store.local(store.local_day(due) + timedelta(days=1), 11) if late
                else store.local(self.demo.day + timedelta(days=1), rng.choice([10, 11, 14, 16])))
        store.at(when, "resolve complaint", lambda: self.resolve(complaint, order, rng, key, False), FREE, key)

    async def resolve(self, complaint: dict, order: Order | None, rng: random.Random, key: str,
                      second: bool) -> None:
        store = self.store
        api = store.complaint_owner.api
        resolved = await api.post(f"/api/crm/v1/complaints/{complaint['id']}/resolve",
                                  {"resolution": RESOLUTIONS.get(complaint["department"], RESOLUTIONS["store"])})
        self.demo.count(Tally.COMPLAINTS_RESOLVED)
        if resolved["status"] == "closed":
            self.demo.count(Tally.COMPLAINTS_CLOSED)
            return
        page = await api.get("/api/crm/v1/callbacks", complaint_id=complaint["id"], status="pending",
                             **store.for_desk())
        follow_up = next((c for c in page["items"] if c["kind"] == "follow_up"), None)
        if follow_up is None:
            return
        satisfied = second or (order.fate.follow_up_satisfied if order else rng.random() < 0.85)
        due = datetime.fromisoformat(follow_up["due_at"])
        store.at(floor_hour(due - GRID), "follow-up call",
                 lambda: self.follow_up(follow_up, complaint, order, rng, key, satisfied), FREE, key)

    async def follow_up(self, callback: dict, complaint: dict, order: Order | None, rng: random.Random, key: str,
                        satisfied: bool) -> None:
        store = self.store
        overall = rng.choice([4, 5, 5]) if satisfied else rng.choice([2, 3])
        await store.callback_desk.post(f"/api/crm/v1/callbacks/{callback['id']}/survey",
                                       {"answers": {"overall": overall},
                                        "verbatim": "问题解决了,谢谢。" if satisfied else "还是没有解决。"})
        self.demo.count(Tally.FOLLOW_UPS_COMPLETED)
        if satisfied:
            self.demo.count(Tally.COMPLAINTS_CLOSED)
            return
        # Reopened: the owner takes it up again; the second follow-up finds the customer satisfied.
        owner = store.complaint_owner
        current = await owner.api.get(f"/api/crm/v1/complaints/{complaint['id']}")
        if current["status"] == "open":
            await owner.api.post(f"/api/crm/v1/complaints/{complaint['id']}/assign", {"owner": owner.principal_id})
        self.demo.count(Tally.COMPLAINTS_REOPENED)
        store.at(store.local(self.demo.day + timedelta(days=1), 15), "resolve reopened complaint",
                 lambda: self.resolve(complaint, order, rng, key, True), FREE, key)

    async def phoned_in(self, rng: random.Random) -> None:
        """A customer phones in about a recent visit."""
        store = self.store
        recent = sorted((o for d, orders in store.reception.delivered_on.items() if (self.demo.day - d).days <= 10
                         for o in orders), key=lambda o: o.key)
        if not recent:
            return
        order = rng.choice(recent)
        phoned = rng.choice(PHONED_COMPLAINTS)
        complaint = await store.complaint_owner.api.post("/api/crm/v1/complaints", {
            "repair_order_id": order.id, "department": phoned.department, "severity": phoned.severity,
            "description": f"{phoned.description} (order {order.label})", **store.for_desk()})
        self.demo.count(Tally.COMPLAINTS_OPENED)
        self.demo.count(Tally.COMPLAINTS_PHONED_IN)
        self.handle(complaint["id"], None, f"{order.key}:phoned-in:{self.demo.day}")
