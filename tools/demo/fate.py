"""A repair order's fate, drawn once when the order is planned, so the story does not
depend on timing: whether the customer declines extras or walks away, fails QC, how they
pay, how the callback goes, how HQ decides the claim, whether the car comes back."""
from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class CallbackPlan(StrEnum):
    ON_TIME = "on_time"
    RETRY = "retry"  # no answer the first time
    LATE = "late"  # the call slips a day past its due time
    UNREACHABLE = "unreachable"
    DECLINED = "declined"


class Mood(StrEnum):
    HAPPY = "happy"
    MEH = "meh"
    UNHAPPY = "unhappy"


class ClaimDecision(StrEnum):
    APPROVE = "approve"
    PARTIAL = "partial"
    REJECT = "reject"


@dataclass
class Fate:
    decline_extra: bool
    cancel_at_estimate: bool
    qc_fail: bool
    pickup_delay: int  # ticks after ready
    payment: str
    split_payment: bool
    callback: CallbackPlan
    mood: Mood
    unhappy_with: str  # the department
    complaint_late: bool
    follow_up_satisfied: bool
    claim_decision: ClaimDecision
    claim_resubmit: bool
    claim_submit_days: int
    claim_review_days: int
    comeback_days: int | None
    club_join: bool
    durations: list[float]  # factors on the flat-rate hours, job by job

    @classmethod
    def draw(cls, rng: random.Random, quality: float) -> Fate:
        """`quality` is the store's (0..1): a weaker store fails more checks and upsets
        more customers. The draws happen in this order, whatever the fate is used for."""
        mood_roll = rng.random()
        unhappy = 0.05 + (1 - quality) * 0.3
        return cls(
            decline_extra=rng.random() < 0.15,
            cancel_at_estimate=rng.random() < 0.025,
            qc_fail=rng.random() < 0.06 + (1 - quality) * 0.1,
            pickup_delay=rng.choice([1, 1, 2, 2, 3, 4, 6]),
            payment=rng.choices(["wechat_pay", "alipay", "card", "cash"], [45, 22, 25, 8])[0],
            split_payment=rng.random() < 0.08,
            callback=rng.choices([CallbackPlan.ON_TIME, CallbackPlan.RETRY, CallbackPlan.LATE,
                                  CallbackPlan.UNREACHABLE, CallbackPlan.DECLINED], [80, 8, 6, 4, 2])[0],
            mood=Mood.UNHAPPY if mood_roll < unhappy else (Mood.MEH if mood_roll < unhappy + 0.05 else Mood.HAPPY),
            unhappy_with=rng.choices(["reception", "parts", "workshop"], [35, 30, 35])[0],
            complaint_late=rng.random() < 0.15,
            follow_up_satisfied=rng.random() < 0.85,
            claim_decision=rng.choices([ClaimDecision.APPROVE, ClaimDecision.PARTIAL, ClaimDecision.REJECT],
                                       [78, 14, 8])[0],
            claim_resubmit=rng.random() < 0.5,
            claim_submit_days=rng.choice([1, 1, 2, 3]),
            claim_review_days=rng.choice([1, 2, 2, 3, 4]),
            comeback_days=rng.randint(4, 20) if rng.random() < 0.04 else None,
            club_join=rng.random() < 0.07,
            durations=[rng.uniform(0.8, 1.35) for _ in range(8)],
        )
