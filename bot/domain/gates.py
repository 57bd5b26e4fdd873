"""Stage exit criteria (SPEC section 5): a checklist of what holds and what is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.escalation import Matrix
from bot.domain.vocabulary import REQUIRED_ROLES, Stage

STAGE_ORDER = (Stage.READINESS, Stage.HANDOFF, Stage.LAUNCH, Stage.OPERATIONS, Stage.RETIRED)
PARALLEL_OPERATION_DAYS = 28
PARALLEL_OPERATION_REVIEWS = 4
LAUNCH_REVIEWS = 6
SCOPE_EXPANSION_DAYS = 90
LAUNCH_CHECKPOINT_DAYS = 90  # the KPI checkpoint that closes the launch
PARALLEL_REVIEW = "parallel-ops-review"
LAUNCH_REVIEW = "launch-review"
# Issue 17 (H): handoff retrospectives and the pilot's artifacts; the data dimension's distribution comparison.
RETROSPECTIVE = "handoff-retrospective"
RETROSPECTIVES_HELD = 2
PILOT_ARTIFACTS = {
    "acceptance-criteria": "user acceptance criteria",
    "edge-cases": "edge-case inventory",
    "failure-modes": "failure-mode log",
}


@dataclass(frozen=True)
class Timeline:
    """The framework's timeline for a stage: the weeks of the programme it spans, and so how long it should take."""

    weeks: str  # as the framework says it: "weeks 1-4"
    days: int | None  # how long the stage should last; None: it has no end (operations)


TIMELINE = {
    Stage.READINESS: Timeline("weeks 1 to 4", 28),
    Stage.HANDOFF: Timeline("weeks 3 to 8, with 4 to 6 weeks of parallel operation", 42),
    Stage.LAUNCH: Timeline("weeks 6 to 12", 49),
    Stage.OPERATIONS: Timeline("from month 3", None),
}


def stage_target(stage: Stage, entered: date) -> date | None:
    """The day by which the framework expects the stage to be over, counted from the day it began."""
    timeline = TIMELINE.get(stage)
    if timeline is None or timeline.days is None:
        return None
    return entered + timedelta(days=timeline.days)

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
    launch_reviews_completed: int  # completed or attested
    checkpoint_90_due: bool
    kpis_within: bool | None  # every KPI's latest value within its threshold in force
    stage_exit_signed: bool
    parallel_reviews_completed: int = 0  # weekly parallel-operation reviews completed or attested
    stage_entered_on: date | None = None  # local day the stage began (says when the days will hold)
    launch_date: date | None = None
    open_reviews: dict[str, int] = field(default_factory=dict)  # kind -> number of its open review
    attestable: dict[str, tuple[date, ...]] = field(default_factory=dict)  # kind -> due days of ones to attest
    launch: LaunchFacts | None = None  # G (issue 17): fallback, rollout share, orientation
    retrospectives_completed: int = 0  # handoff retrospectives completed or attested
    pilot_artifacts: frozenset[str] = frozenset()  # the PILOT_ARTIFACTS kinds on record
    distribution: DistributionOnRecord | None = None  # the latest data distribution comparison
    value_committed: bool | None = None  # I (issue 17): business value recorded (`/steward value`); None: not asked


@dataclass(frozen=True)
class DistributionOnRecord:
    """The latest data distribution comparison of an initiative: computed by Steward, or given as evidence."""

    on: date
    computed: bool
    columns: int = 0
    shifted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    label: str
    holds: bool
    detail: str = ""
    informational: bool = False  # shown, but not required to advance
    name: str = ""  # what the message module knows the check by (e.g. STAGE_EXIT_SIGNED, to say how to sign it)
    way: tuple = ()  # what the message module needs to name the way to meet it (a day, a review, a role)


STAGE_EXIT_SIGNED = "stage-exit-signed"
# The names of the checks: the message module names the command (or the day) that meets each.
READINESS_DIMENSION = "readiness"  # way: (dimension,)
BASELINE_SIGNED = "baseline-signed"
VALUE_COMMITTED = "value-committed"  # I (issue 17): `/steward value <key> ...`
GOVERNANCE_RECORD = "governance-record"  # way: the missing items
ROLES_ASSIGNED = "roles-assigned"  # way: the vacant roles
PARALLEL_DAYS = "parallel-days"  # way: (the day it holds,)
REVIEWS_DONE = "reviews-done"  # way: (kind, open review number or None, attestable days)
GOVERNANCE_SIGNED = "governance-signed"  # way: the missing items
CHECKPOINT_90 = "checkpoint-90"  # way: (the day it falls due or None,)
ARTIFACTS_RECORDED = "pilot-artifacts"  # way: the missing PILOT_ARTIFACTS kinds


def _distribution_detail(found: DistributionOnRecord) -> str:
    if not found.computed:
        return f"distribution comparison given as evidence on {found.on.isoformat()}"
    shifted = f"shifted: {', '.join(found.shifted)}" if found.shifted else "none shifted"
    return f"distribution comparison of {found.on.isoformat()}: {found.columns} columns, {shifted}"


def _reviews_way(facts: GateFacts, kind: str) -> tuple:
    return (kind, facts.open_reviews.get(kind), facts.attestable.get(kind, ()))


def exit_checklist(facts: GateFacts) -> list[Check]:
    """What must hold to leave the current stage, each marked held or missing, each naming its way forward."""
    checks: list[Check] = []
    if facts.stage is Stage.READINESS:
        for dimension, label in DIMENSIONS.items():
            ready = facts.readiness.get(dimension)
            detail = "ready" if ready else ("not ready" if ready is False else "not assessed")
            way: tuple = (dimension,)
            if dimension == "data" and facts.distribution is not None:
                detail += "; " + _distribution_detail(facts.distribution)
                way = (dimension, facts.distribution is not None)
            checks.append(Check(f"Readiness: {label}", bool(ready), detail, name=READINESS_DIMENSION, way=way))
        checks.append(Check("Baseline thresholds signed by the business owner", facts.baseline_signed,
                            name=BASELINE_SIGNED))
        if facts.value_committed is not None:  # I (issue 17): what the initiative commits to deliver
            checks.append(Check("Committed business value and target recorded", facts.value_committed,
                                name=VALUE_COMMITTED))
        present = [item for item, ok in facts.governance_items.items() if ok]
        missing = tuple(item for item, ok in facts.governance_items.items() if not ok)
        checks.append(Check("Governance record", len(present) == len(GOVERNANCE_ITEMS),
                            f"{len(present)} of {len(GOVERNANCE_ITEMS)} items; its sign-off is needed before launch",
                            informational=True, name=GOVERNANCE_RECORD, way=missing))
    elif facts.stage is Stage.HANDOFF:
        vacant = [role for role in REQUIRED_ROLES if role not in facts.roles]
        checks.append(Check("The four production roles assigned", not vacant,
                            "vacant: " + ", ".join(role.label for role in vacant) if vacant else "all held",
                            name=ROLES_ASSIGNED, way=tuple(vacant)))
        holds_on = (facts.stage_entered_on + timedelta(days=PARALLEL_OPERATION_DAYS)
                    if facts.stage_entered_on else None)
        checks.append(Check(f"At least {PARALLEL_OPERATION_DAYS} days of parallel operation",
                            facts.days_in_stage >= PARALLEL_OPERATION_DAYS, f"{facts.days_in_stage} days so far",
                            name=PARALLEL_DAYS, way=(holds_on,)))
        checks.append(Check(f"At least {PARALLEL_OPERATION_REVIEWS} weekly parallel-operation reviews completed",
                            facts.parallel_reviews_completed >= PARALLEL_OPERATION_REVIEWS,
                            f"{facts.parallel_reviews_completed} completed", name=REVIEWS_DONE,
                            way=_reviews_way(facts, PARALLEL_REVIEW)))
        checks.append(Check(f"At least {RETROSPECTIVES_HELD} handoff retrospectives held",
                            facts.retrospectives_completed >= RETROSPECTIVES_HELD,
                            f"{facts.retrospectives_completed} held", name=REVIEWS_DONE,
                            way=_reviews_way(facts, RETROSPECTIVE)))
        absent = tuple(kind for kind in PILOT_ARTIFACTS if kind not in facts.pilot_artifacts)
        checks.append(Check("Pilot artifacts: " + ", ".join(PILOT_ARTIFACTS.values()), not absent,
                            "missing: " + ", ".join(PILOT_ARTIFACTS[kind] for kind in absent) if absent
                            else "all three on record", name=ARTIFACTS_RECORDED, way=absent))
        missing = tuple(item for item, ok in facts.governance_items.items() if not ok)
        checks.append(Check("Governance record complete and signed", facts.governance_signed,
                            "signed" if facts.governance_signed else
                            ("missing: " + ", ".join(missing) if missing else "complete, not signed"),
                            name=GOVERNANCE_SIGNED, way=missing))
    elif facts.stage is Stage.LAUNCH:
        checks.append(Check(f"{LAUNCH_REVIEWS} weekly launch reviews completed",
                            facts.launch_reviews_completed >= LAUNCH_REVIEWS,
                            f"{facts.launch_reviews_completed} completed", name=REVIEWS_DONE,
                            way=_reviews_way(facts, LAUNCH_REVIEW)))
        within = facts.checkpoint_90_due and facts.kpis_within is True
        detail = ("the 90-day checkpoint is not due yet" if not facts.checkpoint_90_due else
                  "every KPI within threshold" if facts.kpis_within else
                  "some KPIs are outside their thresholds, stale or not recorded")
        due_on = facts.launch_date + timedelta(days=LAUNCH_CHECKPOINT_DAYS) if facts.launch_date else None
        checks.append(Check("90-day KPI checkpoint within thresholds", within, detail, name=CHECKPOINT_90,
                            way=(due_on if not facts.checkpoint_90_due else None,)))
    checks.extend(launch_checks(facts))  # G (issue 17): the entry into launch and the launch exit
    checks.append(Check("Stage exit signed by the business owner",
                        facts.stage_exit_signed, name=STAGE_EXIT_SIGNED))
    return checks


# G (issue 17 points 1 and 2): a launch starts only with a fallback and a first rollout share, and ends at 100%.
FALLBACK_RECORDED = "fallback-recorded"
FIRST_SHARE_RECORDED = "first-share-recorded"
ORIENTATION_HELD = "orientation-held"
FULL_SHARE_SIGNED = "full-share-signed"
LAUNCH_CHECK_NAMES = (FALLBACK_RECORDED, FIRST_SHARE_RECORDED, ORIENTATION_HELD, FULL_SHARE_SIGNED)
FULL_SHARE = 100


@dataclass(frozen=True)
class LaunchFacts:
    """What the entry into launch and the launch exit look at, beyond the other criteria."""

    fallback: bool = False  # a pilot-era fallback process on record
    share: int | None = None  # the rollout share in force (recorded in handoff: the first share of the launch)
    full_signed: bool = False  # the share in force is 100%, reached with the business owner's sign-off
    orientation_done: bool = False  # the pre-launch orientation of the communication plan


def launch_checks(facts: GateFacts) -> list[Check]:
    """Handoff (entering launch): a fallback and a first share are required, the orientation is advised.
    Launch (leaving it): the fallback still on record and the share at 100%, signed."""
    launch = facts.launch or LaunchFacts()
    fallback = Check("Pilot-era fallback process recorded", launch.fallback,
                     "on record" if launch.fallback else "none on record", name=FALLBACK_RECORDED)
    if facts.stage is Stage.HANDOFF:
        return [fallback,
                Check("First rollout share recorded", launch.share is not None,
                      f"{launch.share}% of full volume" if launch.share is not None else "none yet",
                      name=FIRST_SHARE_RECORDED),
                Check("Pre-launch orientation held", launch.orientation_done,
                      "held" if launch.orientation_done else "not yet (skipping it lowers adoption)",
                      informational=True, name=ORIENTATION_HELD)]
    if facts.stage is Stage.LAUNCH:
        shown = f"{launch.share}% of full volume" if launch.share is not None else "no share recorded"
        return [fallback,
                Check(f"Rollout at {FULL_SHARE}% of the intended scope, signed by the business owner",
                      launch.full_signed, shown, name=FULL_SHARE_SIGNED, way=(launch.share,))]
    return []


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
