"""The sandbox in a real browser: headless Chromium from Debian's packages, driven by Playwright."""

import os
import shutil
import signal
import subprocess
import sys

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def sandbox(database_url, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STEWARD_", "DATABASE_"))}
    process = subprocess.Popen([sys.executable, "-m", "bot", "sandbox", "--port", "0", "--database", database_url],
                               env=env, cwd=tmp_path,
                               stderr=subprocess.PIPE, text=True)
    url = None
    for line in process.stderr:  # blocks until the sandbox says where its page is
        if "open http://" in line:
            url = line.split("open ", 1)[1].split()[0]
            break
    assert url, "the sandbox never said where its page is"
    yield url
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)


@pytest.fixture
def page(sandbox):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(15_000)
        page.goto(sandbox)
        yield page
        browser.close()


def say(page, text, *, as_user=None):
    if as_user:
        page.select_option("#who", label=as_user)
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_the_sample_is_there_and_a_command_posts_in_the_channel(page):
    expect(page.locator("#log")).to_contain_text("started tracking Invoice triage assistant")
    say(page, "/steward role unassign invoice-triage pilot", as_user="Ada (Steward admin)")
    expect(page.locator(".ephemeral").last).to_contain_text("pilot lead of invoice-triage is now vacant")
    expect(page.locator("#log")).to_contain_text("The pilot lead role of invoice-triage is now vacant")
    say(page, "/steward frobnicate")
    expect(page.locator(".ephemeral").last).to_contain_text("frobnicate is not a command")


def test_an_incident_escalates_when_the_clock_moves_and_stops_when_acknowledged(page):
    say(page, "/steward incident declare invoice-triage sev1 Invoices routed to the wrong queue", as_user="Paul · pm")
    thread = page.locator(".thread").last
    expect(thread).to_contain_text("@Max (MLOps engineer), please acknowledge INC1")
    page.click("button[data-minutes='16']")
    expect(thread).to_contain_text("Level 2 (+15 min): @Dana (data engineer), @Paul (product manager)")
    page.select_option("#who", label="Max · mlops")
    page.click(".actions button:has-text('Acknowledge')")
    expect(thread).to_contain_text("Acknowledged by @Max after 16 min. Escalation stopped.")
    root = page.locator(".msg", has_text="INC1 · SEV1").first
    expect(root).to_contain_text("Acknowledged by @Max")
    expect(root).to_contain_text("(edited)")
    expect(root.locator("button:has-text('Acknowledge')")).to_have_count(0)
    page.click("button[data-minutes='60']")
    expect(thread).not_to_contain_text("Level 3")


def test_resolve_opens_a_form_whose_errors_show_and_whose_submission_resolves(page):
    say(page, "/steward incident declare invoice-triage sev2 Drift alarm", as_user="Max · mlops")
    page.click(".actions button:has-text('Resolve')")
    expect(page.locator("#modal")).to_contain_text("Resolve INC1")
    page.click("#submit")
    expect(page.locator("[data-error=resolution]")).to_contain_text("A resolution is needed")
    page.fill("#modal textarea", "Retrained on the May data")
    page.click("#submit")
    expect(page.locator("#overlay")).to_be_hidden()
    expect(page.locator(".thread").last).to_contain_text("Resolved by @Max")
    expect(page.locator(".thread").last).to_contain_text("Retrained on the May data")


def test_a_month_of_cadence_in_a_click(page):
    page.click("button[data-minutes='43200']")
    expect(page.locator("#log")).to_contain_text("Monthly performance review · Invoice triage assistant")
    expect(page.locator("#log")).to_contain_text("Mark done")


def test_mrkdwn_renders_as_slack_renders_it(page):
    expect(page.locator("#log")).to_contain_text("started tracking Invoice triage assistant")
    html = page.evaluate("""mrkdwn("Done:\\n>Retrained on *May* data\\n> and _checked_ it\\nthen ~old~ `x*y*` "
                         + "a*b*c &lt;!channel&gt; <!here> <@UPM0000001|paul> <https://example.com|docs> :warning:")""")
    assert "<blockquote>Retrained on <b>May</b> data<br>and <i>checked</i> it</blockquote>" in html
    assert "<s>old</s>" in html and "<code>x*y*</code>" in html and "a*b*c" in html
    assert "&lt;!channel&gt;" in html  # escaped text stays text, not a mention
    assert '<span class="mention">@here</span>' in html and '<span class="mention">@Paul</span>' in html
    assert '<a href="https://example.com"' in html and ">docs</a>" in html and "⚠️" in html


def test_an_ephemeral_answer_stays_where_it_was_asked(page):
    expect(page.locator("#log")).to_contain_text("is now the end-user representative of", timeout=20_000)
    say(page, "/steward frobnicate", as_user="Ada (Steward admin)")
    expect(page.locator(".ephemeral").last).to_contain_text("frobnicate is not a command")
    say(page, "/steward role unassign invoice-triage pilot")
    expect(page.locator("#log > .msg").last).to_contain_text("The pilot lead role of invoice-triage is now vacant",
                                                            timeout=20_000)
    order = page.locator("#log > .msg").all_inner_texts()
    asked = next(i for i, text in enumerate(order) if "frobnicate" in text)
    assert "vacant" in order[-1] and asked < len(order) - 2  # the newer post sits below the answer


def test_reset_starts_over(page):
    say(page, "/steward incident declare invoice-triage sev1 Invoices routed to the wrong queue", as_user="Paul · pm")
    expect(page.locator(".msg", has_text="INC1 · SEV1")).to_have_count(1)
    page.click("button[data-minutes='43200']")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#reset")
    expect(page.locator("#log")).not_to_contain_text("INC1", timeout=20_000)
    expect(page.locator("#log")).to_contain_text("started tracking Invoice triage assistant")
    page.click("#sample")
    expect(page.locator(".ephemeral").last).to_contain_text("already loaded")
    expect(page.locator(".ephemeral")).to_have_count(1)
