"""Stage exit criteria (SPEC section 5): a checklist of what holds and what is missing."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.escalation import Matrix
from bot.domain.vocabulary import REQUIRED_ROLES, Stage

STAGE_ORDER = (Stage.READINESS, Stage.HANDOFF, Stage.LAUNCH, Stage.OPERATIONS, Stage.RETIRED)
PARALLEL_OPERATION_DAYS = 28
LAUNCH_REVIEWS = 6
SCOPE_EXPANSION_DAYS = 90

DIMENSIONS = {
    "data": "data reliability",
    "integration": "integration stability",
    "governance": "governance documentation",
    "baseline": "performance baselining",
    "organization": "organizational readiness",
}
GOVERNANCE_ITEMS = {
    "use-case": "approved use-case description with scope boundaries",
    "owner": "named business owner",
    "thresholds": "minimum acceptable performance thresholds (signed baseline)",
    "escalation": "escalation matrix in force",
    "compliance": "compliance and data-privacy assessments",
    "audit-spec": "audit-trail specification for regulated decisions",
}
SETTABLE_GOVERNANCE_ITEMS = ("use-case", "compliance", "audit-spec")


def next_stage(stage: Stage) -> Stage | None:
    """The stage after this one, or None after the last."""
    index = STAGE_ORDER.index(stage)
    return STAGE_ORDER[index + 1] if index + 1 < len(STAGE_ORDER) else None


@dataclass(frozen=True)
class GateFacts:
    """Everything the exit criteria look at, gathered by the flow."""

    stage: Stage
    days_in_stage: int
    readiness: dict[str, bool]  # dimension -> ready
    baseline_signed: bool
    governance_items: dict[str, bool]  # item -> present
    governance_signed: bool
    roles: dict[str, str]
    launch_reviews_completed: int
    checkpoint_90_due: bool
    kpis_within: bool | None  # every KPI's latest value within its threshold in force
    stage_exit_signed: bool


@dataclass(frozen=True)
class Check:
    label: str
    holds: bool
    detail: str = ""
    informational: bool = False  # shown, but not required to advance
    name: str = ""  # what the message module knows the check by (e.g. STAGE_EXIT_SIGNED, to say how to sign it)


STAGE_EXIT_SIGNED = "stage-exit-signed"


def exit_checklist(facts: GateFacts) -> list[Check]:
    """What must hold to leave the current stage, each marked held or missing."""
    checks: list[Check] = []
    if facts.stage is Stage.READINESS:
        for dimension, label in DIMENSIONS.items():
            ready = facts.readiness.get(dimension)
            detail = "ready" if ready else ("not ready" if ready is False else "not assessed")
            checks.append(Check(f"Readiness: {label}", bool(ready), detail))
        checks.append(Check("Baseline thresholds signed by the business owner", facts.baseline_signed))
        present = [item for item, ok in facts.governance_items.items() if ok]
        checks.append(Check("Governance record", len(present) == len(GOVERNANCE_ITEMS),
                            f"{len(present)} of {len(GOVERNANCE_ITEMS)} items; its sign-off is needed before launch",
                            informational=True))
    elif facts.stage is Stage.HANDOFF:
        vacant = [role.label for role in REQUIRED_ROLES if role not in facts.roles]
        checks.append(Check("The four production roles assigned", not vacant,
                            "vacant: " + ", ".join(vacant) if vacant else "all held"))
        checks.append(Check(f"At least {PARALLEL_OPERATION_DAYS} days of parallel operation",
                            facts.days_in_stage >= PARALLEL_OPERATION_DAYS, f"{facts.days_in_stage} days so far"))
        missing = [item for item, ok in facts.governance_items.items() if not ok]
        checks.append(Check("Governance record complete and signed", facts.governance_signed,
                            "signed" if facts.governance_signed else
                            ("missing: " + ", ".join(missing) if missing else "complete, not signed")))
    elif facts.stage is Stage.LAUNCH:
        checks.append(Check(f"{LAUNCH_REVIEWS} weekly launch reviews completed",
                            facts.launch_reviews_completed >= LAUNCH_REVIEWS,
                            f"{facts.launch_reviews_completed} completed"))
        within = facts.checkpoint_90_due and facts.kpis_within is True
        detail = ("the 90-day checkpoint is not due yet" if not facts.checkpoint_90_due else
                  "every KPI within threshold" if facts.kpis_within else
                  "some KPIs are outside their thresholds or not recorded")
        checks.append(Check("90-day KPI checkpoint within thresholds", within, detail))
    checks.append(Check("Stage exit signed by the business owner",
                        facts.stage_exit_signed, name=STAGE_EXIT_SIGNED))
    return checks


def may_advance(checks: list[Check]) -> bool:
    """Whether every required check holds (informational ones never stop an advance)."""
    return all(check.holds for check in checks if not check.informational)


def unmet(checks: list[Check]) -> list[Check]:
    """The required checks that do not hold."""
    return [check for check in checks if not check.holds and not check.informational]


@dataclass(frozen=True)
class GovernanceRecord:
    """The six items of an initiative's governance record, as facts; the message module words them."""

    texts: dict[str, str]  # the items people set (use-case, compliance, audit-spec) -> what they say
    owner: str | None  # the business owner's user id
    thresholds: dict[str, float]  # the thresholds in force (signed baseline)
    escalation: Matrix  # the escalation matrix in force (severity -> its levels)

    def present(self) -> dict[str, bool]:
        """Each item in the framework's order: present or missing (the escalation matrix always exists)."""
        return {"use-case": "use-case" in self.texts, "owner": self.owner is not None,
                "thresholds": bool(self.thresholds), "escalation": True,
                "compliance": "compliance" in self.texts, "audit-spec": "audit-spec" in self.texts}

    def missing(self) -> tuple[str, ...]:
        return tuple(item for item, ok in self.present().items() if not ok)
