"""What the incident, paging, cover and timeline tests share: the people, the moment, the staffed initiative,
and where its first incident (INC1) stands in Slack and in the database."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import Incident
from tests.harness import message_text

OWNER, PM, DATA, MLOPS, SPONSOR, IT = ("UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "USPONSOR01",
                                       "UITOWNER01")
OTHER, COVER = "UOTHER0001", "UCOVER0001"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday
# Every production role but the IT owner: the paging ladder's upper levels then include a vacancy.
CORE_ROLES = {"owner": OWNER, "pm": PM, "data": DATA, "mlops": MLOPS, "sponsor": SPONSOR}
ALL_ROLES = {**CORE_ROLES, "it": IT}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def staff(steward, roles: dict[str, str] = ALL_ROLES, *, drain: bool = True):
    """The churn initiative, in operations since January, in C0OPS, with `roles` (alias -> user) held from the
    day before T0; its welcome posts sent that day unless `drain` is False."""
    the_day_before = T0 - timedelta(days=1)
    with freeze_time(the_day_before):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05",
                        channel="C0OPS")
        for alias, user in roles.items():
            steward.command(f"role assign churn {alias} <@{user}>")
    if drain:
        steward.drain(the_day_before)
    return steward


def root(slack) -> dict:
    """INC1's root message in C0OPS."""
    return next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC1" in m["text"])


def thread_texts(slack) -> list[str]:
    """The words of INC1's thread, in order."""
    return [message_text(m) for m in slack.thread("C0OPS", root(slack)["ts"])]


def incident(steward) -> Incident:
    """The one incident."""
    with Session(steward.engine) as session:
        return session.exec(select(Incident)).one()
