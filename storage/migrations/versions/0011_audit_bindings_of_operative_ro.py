"""audit bindings of operative rows; witnesses keyed by the head they name

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 02:30:00

Events gain `bindings` (the digests of the operative rows they commit to, sealed into their hash).
Rows written before this revision are bound by one `audit.rows_bound` event per workspace, appended
here: from the upgrade on, the chain commits to them too. Witnesses are no longer one a day: one per
head (team, seq, hash).
"""
from datetime import UTC, datetime
from types import SimpleNamespace

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import storage.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bindings', sa.Text(), nullable=True))

    connection = op.get_bind()
    # The same head witnessed on several days: keep its first witness (the Slack posts all stay).
    connection.execute(sa.text(
        "DELETE FROM audit_witnesses WHERE id NOT IN "
        "(SELECT min(id) FROM audit_witnesses GROUP BY team_id, seq, hash)"))
    with op.batch_alter_table('audit_witnesses', schema=None) as batch_op:
        batch_op.drop_constraint('uq_witness_day', type_='unique')
        batch_op.create_unique_constraint('uq_witness_head', ['team_id', 'seq', 'hash'])

    _bind_existing_rows(connection)


def _bind_existing_rows(connection) -> None:
    from storage.audit import BOUND_KINDS, GENESIS, canonical_payload, encode_bindings, event_hash, row_digest

    found: dict[str, dict[tuple[str, int], str]] = {}
    existing = set(sa.inspect(connection).get_table_names())
    for kind in BOUND_KINDS:
        if kind.model.__tablename__ not in existing:
            continue  # a kind bound since (role covers, 0015): its table comes later, with no rows to bind
        columns = kind.model.__table__.c
        table = sa.table(kind.model.__tablename__, *[sa.column(name, columns[name].type)
                                                     for name in ('id', *kind.fields)])
        for row in connection.execute(sa.select(table).order_by(table.c.id)):
            values = dict(row._mapping)
            if kind.must_be_bound(SimpleNamespace(**values)):
                found.setdefault(values['team_id'], {})[(kind.name, values['id'])] = \
                    row_digest(kind, values['id'], values)
    if not found:
        return
    events = sa.table('audit_events', sa.column('team_id'), sa.column('seq'), sa.column('actor'),
                      sa.column('action'), sa.column('target'), sa.column('payload'),
                      sa.column('created_at', storage.types.UTCDateTime(timezone=True)), sa.column('prev_hash'),
                      sa.column('hash'), sa.column('bindings'))
    heads = sa.table('audit_heads', sa.column('team_id'), sa.column('seq'), sa.column('hash'))
    now = datetime.now(UTC)
    for team_id, entries in sorted(found.items()):
        head = connection.execute(sa.select(heads.c.seq, heads.c.hash).where(heads.c.team_id == team_id)).first()
        if head is None:
            connection.execute(heads.insert().values(team_id=team_id, seq=0, hash=GENESIS))
            seq, previous = 0, GENESIS
        else:
            seq, previous = head
        payload = canonical_payload({"rows": len(entries),
                                     "reason": "rows recorded before the chain bound operative rows"})
        bindings = encode_bindings(entries)
        digest = event_hash(team_id=team_id, seq=seq + 1, actor="steward", action="audit.rows_bound",
                            target="audit", payload=payload, created_at=now, prev_hash=previous, bindings=bindings)
        connection.execute(events.insert().values(
            team_id=team_id, seq=seq + 1, actor="steward", action="audit.rows_bound", target="audit",
            payload=payload, created_at=now, prev_hash=previous, hash=digest, bindings=bindings))
        connection.execute(heads.update().where(heads.c.team_id == team_id).values(seq=seq + 1, hash=digest))


def downgrade() -> None:
    # Events that bind rows cannot be verified without their bindings: the chain would read as rewritten.
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT count(*) FROM audit_events WHERE bindings IS NOT NULL")).scalar():
        raise RuntimeError("cannot downgrade below 0011: audit events bind operative rows, and dropping "
                           "their bindings would break the chain")
    connection.execute(sa.text(
        "DELETE FROM audit_witnesses WHERE id NOT IN (SELECT min(id) FROM audit_witnesses GROUP BY team_id, day)"))
    with op.batch_alter_table('audit_witnesses', schema=None) as batch_op:
        batch_op.drop_constraint('uq_witness_head', type_='unique')
        batch_op.create_unique_constraint('uq_witness_day', ['team_id', 'day'])
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('bindings')
