"""Real processes: several `steward sweep` at once on one database, and a sweep killed mid-way."""

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import Review
from tests.harness import ADMIN, SIGNING_SECRET, message_text

OWNER, PM, DATA, MLOPS, SPONSOR = "UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "USPONSOR01"
T0 = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def setup_initiative(steward):
    with freeze_time(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)):
        steward.command("initiative create churn Churn stage=operations since=2026-01-05", channel="C0OPS")
        for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS), ("sponsor", SPONSOR)):
            steward.command(f"role assign churn {alias} <@{user}>")
    with freeze_time(T0):
        steward.command("incident declare churn sev1 Scores drifted", user=PM)
    steward.drain(T0)


def environment(steward, slack):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    env.update(SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url,
               DATABASE_URL=steward.settings.database_url, STEWARD_ADMINS=ADMIN, STEWARD_SLACK_POST_BURST="30")
    return env


def sweep_process(env, at: datetime, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", "sweep", "--at", at.isoformat()], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_sweep_processes_at_once_post_every_prompt_reminder_and_page_once(steward, slack, tmp_path):
    setup_initiative(steward)
    env = environment(steward, slack)
    moments = [T0 + timedelta(minutes=m) for m in (16, 31, 61)] + [T0 + timedelta(days=d) for d in (3, 4, 7, 8, 40)]
    for moment in moments:
        processes = [sweep_process(env, moment, tmp_path) for _ in range(3)]
        for process in processes:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    posts = slack.calls_to("chat.postMessage")
    # Every post carries its outbox key in its metadata: no key may reach Slack twice.
    keys = Counter(c.args["metadata"]["event_payload"]["key"] for c in posts)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    texts = [message_text(m) for m in slack.posts("C0OPS")]
    assert sum("*Level 2*" in t for t in texts) == 1
    assert sum("*Level 4*" in t for t in texts) == 1
    with Session(steward.engine) as session:
        reviews = list(session.exec(select(Review)))
    assert len(reviews) == len({(r.kind, r.due_at) for r in reviews})
    prompts = [c for c in posts if "Why:" in str(c.args.get("blocks"))]
    assert len(prompts) == len([r for r in reviews if r.status != "skipped" or r.posted_at])


def test_a_sweep_killed_while_posting_leaves_nothing_half_done(steward, slack, tmp_path):
    with freeze_time(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)):
        steward.command("initiative create churn Churn stage=operations since=2026-01-05", channel="C0OPS")
    steward.drain()
    env = environment(steward, slack)
    release, arrived = threading.Event(), threading.Event()
    slack.fail("chat.postMessage", hold=release, arrived=arrived)
    due = datetime(2026, 2, 5, 10, 30, tzinfo=UTC)  # the first monthly review posts at 10:00 UTC
    process = sweep_process(env, due, tmp_path)
    try:
        assert arrived.wait(60), "the sweep never reached Slack"
        process.send_signal(signal.SIGTERM)  # killed with the post in flight
        process.communicate(timeout=30)
    finally:
        release.set()
    assert process.returncode != 0
    with Session(steward.engine) as session:
        [review] = session.exec(select(Review))
    assert review.status == "scheduled"  # the review and its outbox row were committed whole
    restarted = sweep_process(env, due + timedelta(minutes=2), tmp_path)  # after the claim's lease
    _, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err
    prompts = [m for m in slack.posts("C0OPS") if "Monthly performance review" in message_text(m)]
    assert len(prompts) == 1  # the post that landed while the sweep died is found, not repeated
    with Session(steward.engine) as session:
        [review] = session.exec(select(Review))
    assert review.status == "posted" and review.message_ts == prompts[0]["ts"]


def test_two_steward_run_replicas_share_the_work_and_post_each_message_once(database_url, slack, tmp_path):
    from bot.localslack.requests import SlackSender
    from storage.db import make_engine, upgrade
    from tests.harness import reply_text

    upgrade(make_engine(database_url))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    env.update(SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.api_url,
               DATABASE_URL=database_url, STEWARD_PORT="0", STEWARD_ADMINS=ADMIN, STEWARD_SLACK_POST_BURST="30")
    replicas, senders = [], []
    try:
        for _ in range(2):
            process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"], env=env,
                                       cwd=tmp_path, stderr=subprocess.PIPE, text=True)
            replicas.append(process)
            for line in process.stderr:  # blocks until the replica says where it listens
                if "listening on http://" in line:
                    port = int(line.rsplit(":", 1)[1].split("/")[0])
                    break
            senders.append(SlackSender(bot_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET))
        assert "Created" in reply_text(senders[0].command("initiative create churn Churn", user=ADMIN,
                                                           channel="C0OPS"))
        people = [f"UPERSON{n:03d}" for n in range(12)]
        for n, person in enumerate(people):  # alternate replicas, as a load balancer would
            shown = reply_text(senders[n % 2].command(f"role assign churn pm <@{person}>", user=ADMIN,
                                                      channel="C0OPS"))
            assert "is now" in shown
    finally:
        for process in replicas:
            process.send_signal(signal.SIGTERM)
        for process in replicas:
            process.communicate(timeout=60)
    assert [p.returncode for p in replicas] == [0, 0]
    posts = slack.calls_to("chat.postMessage")
    keys = [c.args["metadata"]["event_payload"]["key"] for c in posts]
    assert len(keys) == len(set(keys)) == 1 + len(people)  # the creation notice and one notice per change
