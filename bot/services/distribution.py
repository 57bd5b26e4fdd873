"""Data distribution comparisons (issue 17): computed from two CSV samples sent to the API, posted as a table and a
chart in the initiative's channel, kept as the evidence of the readiness `data` dimension."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.domain import distribution as rules
from bot.domain.gates import DistributionOnRecord
from bot.errors import Conflict
from bot.org_config import load_distribution_config
from bot.outbox import queue_message
from bot.services import tokens as token_flows
from bot.services.context import Services
from messages import distribution as distribution_messages
from storage import distribution as comparisons
from storage import records, repository
from storage.audit import append_event, bind
from storage.db import session_scope
from storage.models import DistributionComparison, Initiative


@lru_cache(maxsize=16)
def _threshold(path: Path | None) -> float:
    return load_distribution_config(path).psi_threshold


def threshold(services: Services) -> float:
    """The PSI above which a column has shifted (STEWARD_CONFIG `distribution: {psi_threshold: ...}`)."""
    return _threshold(services.settings.steward_config)






def compute(services: Services, *, token: str, key: str, content_type: str, body: bytes, now: datetime) -> dict:
    """Compare the two samples, store the result, post the table and the chart; DistributionError names a problem."""
    pilot_bytes, production_bytes = rules.split_upload(content_type, body)
    pilot = rules.parse_sample(pilot_bytes, "pilot")
    production = rules.parse_sample(production_bytes, "production")
    comparison = rules.compare(pilot, production, threshold=threshold(services))
    columns = [asdict(column) for column in comparison.columns]
    result = {"columns": columns, "only_pilot": list(comparison.only_pilot),
              "only_production": list(comparison.only_production), "skipped": list(comparison.skipped)}
    line = distribution_messages.summary(comparison)
    with session_scope(services.engine) as session:
        api_token, initiative = token_flows.initiative_token(session, token=token, key=key)
        row = comparisons.add(session=session, row=DistributionComparison(
            team_id=initiative.team_id, initiative_id=initiative.id, threshold=comparison.threshold,
            pilot_rows=comparison.pilot_rows, production_rows=comparison.production_rows,
            columns=len(comparison.columns), shifted=json.dumps(list(comparison.shifted)),
            result=json.dumps(result, separators=(",", ":")), created_by=f"token {api_token.prefix}", created_at=now))
        append_event(session=session, team_id=initiative.team_id, actor=f"token {api_token.prefix}",
                     action="distribution.compared", target=initiative.key,
                     payload={"comparison": row.id, "summary": line, "shifted": list(comparison.shifted)}, at=now)
        bind(session=session, team_id=initiative.team_id, rows=[row])
        table_key = f"distribution:{row.id}"
        queue_message(session=session, team_id=initiative.team_id, key=table_key, channel_id=initiative.channel_id,
                      message=distribution_messages.table(comparison, key=initiative.key, number=row.id, at=now,
                                                          timezone=initiative.timezone),
                      purpose="notice", initiative_id=initiative.id, at=now)
        queue_message(session=session, team_id=initiative.team_id, key=f"distribution:{row.id}:chart",
                      channel_id=initiative.channel_id, message=distribution_messages.chart_placeholder(),
                      purpose="distribution.chart", method="files.upload", thread_key=table_key,
                      initiative_id=initiative.id, subject_id=row.id, at=now)
        number = row.id
    services.notify_outbox()
    return {"comparison": number, "summary": line, "threshold": comparison.threshold,
            "shifted": list(comparison.shifted), **result}


def chart_for(session: Session, row) -> tuple[bytes, str, str]:
    """Outbox attachment: the comparison's chart, drawn when it is sent."""
    found = comparisons.by_id(session=session, comparison_id=row.subject_id)
    initiative = repository.initiative_by_id(session=session, initiative_id=row.initiative_id)
    return distribution_messages.chart(json.loads(found.result)["columns"], found.threshold, key=initiative.key,
                                       number=found.id)


def on_record(session: Session, initiative: Initiative) -> DistributionOnRecord | None:
    """The comparison the readiness `data` dimension rests on: the latest computed one, else evidence given with
    the dimension marked ready."""
    zone = ZoneInfo(initiative.timezone)
    computed = comparisons.latest(session=session, initiative_id=initiative.id)
    if computed is not None:
        return DistributionOnRecord(on=computed.created_at.astimezone(zone).date(), computed=True,
                                    columns=computed.columns, shifted=tuple(json.loads(computed.shifted)))
    data = records.latest_readiness(session=session, initiative_id=initiative.id).get("data")
    if data is not None and data.ready and data.evidence:
        return DistributionOnRecord(on=data.set_at.astimezone(zone).date(), computed=False)
    return None


def readiness_evidence(session: Session, initiative: Initiative, evidence: str | None) -> str:
    """`readiness <key> data ready [evidence]`: the evidence to record, refused without any comparison on record.

    Typed evidence is the comparison (a link or text); without it, the latest computed comparison is named.
    """
    if evidence:
        return evidence
    computed = comparisons.latest(session=session, initiative_id=initiative.id)
    if computed is None:
        raise Conflict(distribution_messages.refused_without_comparison(initiative.key))
    return distribution_messages.evidence_of(computed.id, computed.created_at, initiative.timezone,
                                             columns=computed.columns, shifted=json.loads(computed.shifted))
