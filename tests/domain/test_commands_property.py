"""Any text after /steward parses to a command or a clear UsageError; never anything else."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.services.dispatch import COMMANDS, parse

VERBS = [row.name for row in COMMANDS] + ["initiative", "role", "review", "incident", "kpi", "deviation", "signoff"]
TOKENS = st.one_of(
    st.sampled_from(["churn", "triage", "owner", "pm", "sev1", "sev9", "R1", "INC2", "approve", "reject", "ready",
                     "not-ready", "use-case", "latency", "adoption", "1e308", "nan", "-0", "95%", "stage=launch",
                     "since=2026-02-30", "tz=Europe/Berlin", "tz=../../x", "country=DE", "kind=infrastructure",
                     "<@U123ABC|dana>", "<@W1>", "<!channel>", "<#C1|x>", "<https://x.example|y>", "&lt;b&gt;",
                     "review:R3", "postmortem:INC1", "retraining:12", "*bold*", "`code`", "\u202e", "\x00"]),
    st.text(min_size=1, max_size=40).filter(lambda t: t.strip()),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_a_usage_error(text):
    try:
        parse(text)
    except UsageError as error:
        assert error.message and len(error.message) < 2000


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VERBS), st.lists(TOKENS, max_size=8))
def test_command_shaped_text_never_raises_anything_but_a_usage_error(verb, tokens):
    try:
        parse(" ".join([verb, *tokens]))
    except UsageError as error:
        assert error.message and error.usage
