"""The rules stay pure: importing bot.domain loads no Slack, database or template library."""

import subprocess
import sys


def test_domain_imports_no_slack_sqlmodel_or_jinja():
    code = (
        "import sys, bot.domain.commands, bot.domain.vocabulary, bot.domain.permissions;"
        "bad = [m for m in ('slack_bolt', 'slack_sdk', 'sqlmodel', 'sqlalchemy', 'jinja2') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_storage_and_messages_know_nothing_of_slack():
    code = (
        "import sys, storage.models, storage.repository, storage.outbox, storage.audit, messages.render;"
        "print(','.join(m for m in ('slack_bolt', 'slack_sdk') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
