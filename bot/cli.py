"""The `steward` command: run the bot, manage the database, print the manifest, check the audit chain."""

from __future__ import annotations

import logging
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
import yaml

from bot import logging_setup
from bot.config import ConfigError, Settings, load_settings

cli = typer.Typer(help="Steward: keeps AI systems alive after they leave the pilot.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_cli = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
token_cli = typer.Typer(help="Bearer tokens for the KPI ingestion API.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(token_cli, name="token")
cli.add_typer(audit_cli, name="audit")

log = logging.getLogger("steward")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        typer.echo(f"steward: configuration error: {error}", err=True)
        raise typer.Exit(2) from None


def _engine(settings: Settings, migrate: bool = True):
    from bot.runtime import make_engine_for

    try:
        return make_engine_for(settings, migrate=migrate)
    except Exception as exc:  # the database is unreachable or refuses us: one line, not a traceback
        typer.echo(f"steward: DATABASE_URL: cannot open the database ({type(exc).__name__}: "
                   f"{str(exc).splitlines()[0][:200]})", err=True)
        raise typer.Exit(2) from None


MISSING_CREDENTIALS = """\
steward: cannot connect to Slack yet; missing {missing}.

To get them:
  1. Print the app manifest:   steward manifest            (Socket Mode, no public URL needed)
                               steward manifest --url https://steward.example.com   (HTTP mode)
  2. At https://api.slack.com/apps choose "Create New App" > "From a manifest", pick your
     workspace and paste it.
  3. Install the app to the workspace, then copy:
       SLACK_BOT_TOKEN       OAuth & Permissions > Bot User OAuth Token (xoxb-...)
       SLACK_SIGNING_SECRET  Basic Information > App Credentials > Signing Secret (HTTP mode)
       SLACK_APP_TOKEN       Basic Information > App-Level Tokens, scope connections:write
                             (xapp-..., Socket Mode only)
  4. Put them in .env (see .env.example) and run `steward run` again.

The database is ready at {database}; `steward manifest` and `steward db upgrade` work without Slack.
"""


@cli.command()
def run(
    host: Annotated[str, typer.Option(help="Address to listen on in HTTP mode.")] = "0.0.0.0",
    sandbox_without_slack: Annotated[bool, typer.Option(
        "--sandbox/--no-sandbox", help="Without Slack credentials, start the local sandbox instead of exiting.")]
    = True,
    sandbox_port: Annotated[int, typer.Option(help="Port of the sandbox page.")] = 8080,
) -> None:
    """Start the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on STEWARD_PORT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = _settings()
    logging_setup.configure(logging.INFO, fmt=settings.steward_log_format)  # STEWARD_LOG_FORMAT=json
    _check_policy(settings)
    missing = settings.missing_slack_credentials()
    if missing:
        _without_slack(settings, missing, sandbox=sandbox_without_slack, port=sandbox_port)
        return
    _engine(settings).dispose()  # migrate first, so even a bot Slack refuses leaves a ready database
    from bot.runtime import SlackRefused, verify_bot_token
    from bot.server import make_http_server, make_wsgi_app

    try:
        identity = verify_bot_token(settings)  # auth.test: a wrong or revoked token stops here, in one line
        runtime = _runtime(settings, with_app=True)
    except SlackRefused as refused:
        typer.echo(f"steward: {refused}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # Bolt's own auth.test disagreed a moment later: still one line
        typer.echo(f"steward: SLACK_BOT_TOKEN: Slack did not accept the bot token ({type(exc).__name__}: "
                   f"{str(exc).splitlines()[0][:200] if str(exc) else ''})", err=True)
        raise typer.Exit(2) from None
    link = None
    if settings.socket_mode:
        from bot.socket_mode import SocketModeLink

        link = SocketModeLink(runtime.app, settings.slack_app_token.get_secret_value())
        try:
            link.open()  # apps.connections.open, then the websocket; a refused app token stops here
        except SlackRefused as refused:
            link.close()
            runtime.stop()
            typer.echo(f"steward: {refused}", err=True)
            raise typer.Exit(2) from None
    runtime.start_background()
    # Both modes serve /healthz and the KPI API on STEWARD_PORT; only HTTP mode takes Slack's requests there.
    server = make_http_server(make_wsgi_app(runtime.app, runtime.services, socket_link=link), host=host,
                              port=settings.steward_port)
    where = f"http://{host}:{server.effective_port}"
    if link is not None:
        connected = link.wait_connected(5)
        log.info("Steward is running in Socket Mode as %s (%s); /healthz and the KPI API on %s",
                 identity.get("user", "?"), "connected" if connected else link.status()[1], where)
    else:
        log.info("Steward is listening on %s/slack/events", where)

    def _close(signum, _frame):
        # waitress's run() treats SystemExit as "finish the requests in flight, then stop".
        log.info("signal %s: stopping", signum)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _close)
    signal.signal(signal.SIGINT, _close)
    try:
        server.run()
    finally:
        if link is not None:
            link.close()
    runtime.stop()
    log.info("Steward stopped")


# Any of these set (in the environment or .env, even empty) means a deployment: a missing credential is then
# a fault to report, never a reason to fall back to the sandbox.
DEPLOYMENT_VARIABLES = {"database_url": "DATABASE_URL", "slack_bot_token": "SLACK_BOT_TOKEN",
                        "slack_signing_secret": "SLACK_SIGNING_SECRET", "slack_app_token": "SLACK_APP_TOKEN"}


def _without_slack(settings: Settings, missing: list[str], *, sandbox: bool, port: int) -> None:
    """Credentials are missing: the sandbox on its own database for a first try, exit 2 for a deployment."""
    from sqlalchemy.engine import make_url

    deployment = [name for field, name in DEPLOYMENT_VARIABLES.items() if field in settings.model_fields_set]
    if deployment or not sandbox:
        _engine(settings).dispose()  # migrate, so the database is ready when the credentials come
        typer.echo(MISSING_CREDENTIALS.format(missing=" and ".join(missing),
                                              database=make_url(settings.database_url).render_as_string()),
                   err=True)
        if deployment and sandbox:
            typer.echo(f"steward: not starting the sandbox: {', '.join(deployment)} "
                       f"{'is' if len(deployment) == 1 else 'are'} set, so this is a deployment and a missing "
                       f"{' or '.join(missing)} is fatal. Set {' and '.join(missing)}; to try Steward without "
                       "Slack, run `steward sandbox` (it keeps a database of its own).", err=True)
        raise typer.Exit(2)
    typer.echo(MISSING_CREDENTIALS.split("\n\nThe database is ready")[0].format(missing=" and ".join(missing))
               + "\n", err=True)
    typer.echo("Meanwhile, here is Steward against a local Slack, on a database of its own "
               "(`--no-sandbox` to just exit):", err=True)
    _run_sandbox(None, port, load_sample=True)


def _run_sandbox(database_url: str | None, port: int, *, load_sample: bool) -> None:
    from bot.localslack.sandbox import SANDBOX_DATABASE, NotTheSandboxDatabase, Sandbox

    database_url = database_url or SANDBOX_DATABASE
    try:
        sandbox = Sandbox(database_url=database_url, port=port, sample=load_sample)
    except NotTheSandboxDatabase as refused:
        typer.echo(f"steward: the sandbox refuses this database: {refused}", err=True)
        raise typer.Exit(2) from None
    except ConfigError as error:
        typer.echo(f"steward: configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # the database is unreachable or the port is taken: one line, not a traceback
        typer.echo(f"steward: sandbox: cannot start ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
                   err=True)
        raise typer.Exit(2) from None
    if load_sample:
        sandbox.load_sample(announce=False)  # what is loaded already is left alone
    from sqlalchemy.engine import make_url

    typer.echo(f"Steward sandbox: open {sandbox.url} (a local Slack; data in "
               f"{make_url(database_url).render_as_string()}; Ctrl-C to stop). To move to a real "
               "workspace, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see `steward manifest`).", err=True)

    def _stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


@cli.command()
def sandbox(port: Annotated[int, typer.Option(help="Port of the sandbox page (0 picks a free one).")] = 8080,
            sample: Annotated[bool, typer.Option("--sample/--no-sample", help="Load the sample initiative.")] = True,
            database: Annotated[str | None, typer.Option(
                help="The sandbox's own database (default sqlite:///steward-sandbox.db here; DATABASE_URL is "
                     "never used). One that holds another workspace is refused.")] = None,
            ) -> None:
    """Try Steward without a Slack workspace: the real bot against a local Slack, in your browser."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _run_sandbox(database, port, load_sample=sample)


@cli.command()
def manifest(url: Annotated[str | None, typer.Option(
        help="Public https base URL (or the full .../slack/events URL) for HTTP mode; omit for Socket Mode.")]
             = None) -> None:
    """Print the Slack app manifest (YAML) to paste into api.slack.com/apps."""
    from urllib.parse import urlparse

    from bot.manifest import build_manifest, scope_comments

    if url is not None:
        parsed = urlparse(url.strip())
        if parsed.scheme != "https" or not parsed.netloc or parsed.query or parsed.fragment:
            typer.echo("steward: --url must be a public https URL such as https://steward.example.com", err=True)
            raise typer.Exit(2)
        path = parsed.path.rstrip("/")
        if path and not path.endswith("/slack/events"):
            typer.echo(f"steward: --url: give the base URL (https://{parsed.netloc}) or the full events URL "
                       f"ending in /slack/events, not {path!r}", err=True)
            raise typer.Exit(2)
    text = yaml.safe_dump(build_manifest(url), sort_keys=False, allow_unicode=True)
    typer.echo(scope_comments(text), nl=False)


def _check_policy(settings: Settings) -> None:
    """A bad STEWARD_CONFIG stops start-up in one line, before the database or Slack is touched."""
    from bot.org_config import load_org_config

    try:
        load_org_config(settings.steward_config)
    except ConfigError as error:
        typer.echo(f"steward: configuration error: {error}", err=True)
        raise typer.Exit(2) from None


def _runtime(settings: Settings, *, with_app: bool = False):
    from bot.runtime import build_runtime

    engine = _engine(settings)
    try:
        return build_runtime(settings, engine=engine, with_app=with_app)
    except ConfigError as error:
        typer.echo(f"steward: configuration error: {error}", err=True)
        raise typer.Exit(2) from None


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        typer.echo(f"steward: --at: {text!r} is not an ISO 8601 time such as 2026-03-02T10:00:00+01:00",
                   err=True)
        raise typer.Exit(2) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@cli.command()
def sweep(at: Annotated[str | None, typer.Option(help="Run as of this ISO 8601 time (default now; no zone = UTC).")]
          = None,
          linger: Annotated[int, typer.Option(min=0, max=3600, help="Without --at: go on sending, for up to this "
                                              "many seconds, what Slack's pace holds back (keep it under the "
                                              "interval of a cron job).")] = 50) -> None:
    """Run once all work due at or before a moment: prompts, reminders, and what the outbox holds."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = _settings()
    logging_setup.configure(logging.WARNING, fmt=settings.steward_log_format,
                            text_format="%(levelname)s %(name)s: %(message)s")
    if settings.slack_bot_token is None:
        typer.echo("steward: SLACK_BOT_TOKEN is missing; a sweep posts to Slack. See `steward run` for how to get it.",
                   err=True)
        raise typer.Exit(2)
    moment = _moment(at)
    runtime = _runtime(settings)
    report = runtime.sweep(moment)
    typer.echo(f"sweep as of {moment.isoformat()}: {report.summary()}")
    if at is None and linger:
        # A burst Slack's pace spreads out (a channel takes a post a second) goes out now, not a cron run later.
        sent = runtime.send_what_falls_due(until=moment + timedelta(seconds=linger))
        if sent:
            typer.echo(f"then, at Slack's pace: {sent} sent")
    runtime.stop()
    if report.failures:
        # A cron job or an operator must notice: the failed rows stay due and are retried next sweep.
        for failure in report.failures:
            typer.echo(f"steward: sweep: {failure.describe()}", err=True)
        raise typer.Exit(1)


@cli.command()
def schedule(key: str, days: Annotated[int, typer.Option(min=1, max=3660, help="How far ahead to look.")] = 30,
             team: Annotated[str | None, typer.Option(help="Workspace (team id) when a key is in several.")] = None,
             at: Annotated[str | None, typer.Option(help="Look ahead from this ISO 8601 time instead of now.")]
             = None) -> None:
    """Print the prompts an initiative will get in the next N days, in its own time zone."""
    from bot.services.cadence import upcoming
    from messages.render import local_time

    settings = _settings()
    runtime = _runtime(settings)
    initiative = _one_initiative(runtime.engine, key, team)
    now = _moment(at)
    items = upcoming(initiative, runtime.services.cadence, now=now, until=now + timedelta(days=days))
    typer.echo(f"{initiative.name} ({initiative.key}), stage {initiative.stage}, next {days} days:")
    for occurrence in items:
        rule = runtime.services.cadence.rule(occurrence.kind)
        typer.echo(f"  {local_time(occurrence.due_at, initiative.timezone)}  {occurrence.kind}  ({rule.title})")
    if not items:
        typer.echo("  nothing due")
    runtime.stop()


def _one_initiative(engine, key: str, team: str | None):
    """The initiative a command line names, or exit 1 saying why (none, or one in several workspaces)."""
    from storage import repository
    from storage.db import read_scope

    with read_scope(engine) as session:
        found = repository.initiatives_by_key(session=session, key=key, team_id=team)
    if not found:
        typer.echo(f"steward: no initiative {key!r}" + (f" in {team}" if team else ""), err=True)
        raise typer.Exit(1)
    if len(found) > 1:
        typer.echo(f"steward: {key!r} exists in {', '.join(i.team_id for i in found)}; pick one with --team", err=True)
        raise typer.Exit(1)
    return found[0]


def _services(settings: Settings):
    from bot.services.context import Services

    return Services(engine=_engine(settings), settings=settings)


@token_cli.command("create")
def token_create(key: Annotated[str | None, typer.Argument(help="The initiative (omit with --integration).")] = None,
                 team: Annotated[str | None, typer.Option(help="Workspace (team id).")] = None,
                 integration: Annotated[bool, typer.Option(
                     "--integration", help="A workspace token for alert webhooks (any initiative; needs --team).")]
                 = False) -> None:
    """Create a bearer token for pushing one initiative's KPIs; it is shown once and stored hashed."""
    from bot.services import tokens

    services = _services(_settings())
    if integration or key is None:
        from bot.errors import NotFound

        if key is not None or not integration:
            typer.echo("steward: token create <key>, or token create --integration [--team <team id>] (a workspace "
                       "token for Alertmanager and Grafana webhooks)", err=True)
            raise typer.Exit(2)
        try:
            issued = tokens.create_integration(services, team_id=team, by="cli", now=datetime.now(UTC))
        except NotFound as error:
            typer.echo(f"steward: {error}", err=True)
            raise typer.Exit(1) from None
        typer.echo(issued.token)
        typer.echo("(integration token for alert webhooks; shown once, keep it in your monitor's secret store)",
                   err=True)
        return
    initiative = _one_initiative(services.engine, key, team)
    issued = tokens.create(services, team_id=initiative.team_id, key=key, by="cli", now=datetime.now(UTC))
    typer.echo(issued.token)
    typer.echo(f"(token for {key}; shown once, keep it in your pipeline's secret store)", err=True)


@token_cli.command("revoke")
def token_revoke(key: str, team: Annotated[str | None, typer.Option(help="Workspace (team id).")] = None) -> None:
    """Revoke every active ingestion token of an initiative."""
    from bot.services import tokens

    services = _services(_settings())
    initiative = _one_initiative(services.engine, key, team)
    count = tokens.revoke(services, team_id=initiative.team_id, key=key, by="cli", now=datetime.now(UTC))
    typer.echo(f"revoked {count} token(s) of {key}")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from storage.db import current_revision

    settings = _settings()
    engine = _engine(settings)
    typer.echo(f"database at revision {current_revision(engine)}")


@audit_cli.command("verify")
def audit_verify(slack: Annotated[bool, typer.Option(
        "--slack", help="Also compare with the chain heads Steward posted to STEWARD_AUDIT_CHANNEL in Slack.")] = False
                 ) -> None:
    """Check every workspace's hash chain, the operative rows it binds, and its witnessed heads.

    Exit 0 intact, 1 broken (every break named), 2 could not check (the reason on one line).
    """
    from bot.audit_check import CouldNotCheck, slack_witnesses, verify_all
    from messages import audit as audit_messages

    settings = _settings()
    engine = _engine(settings, migrate=False)
    try:
        heads_in_slack = {}
        if slack:
            if settings.slack_bot_token is None or settings.steward_audit_channel is None:
                typer.echo(audit_messages.could_not_check("--slack needs SLACK_BOT_TOKEN and STEWARD_AUDIT_CHANNEL"),
                           err=True)
                raise typer.Exit(2)
            heads_in_slack = slack_witnesses(settings)
        reports = verify_all(engine, heads_in_slack, with_slack=slack)
    except CouldNotCheck as exc:
        typer.echo(audit_messages.could_not_check(str(exc)), err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    for report in reports:
        for line in audit_messages.verify_lines(report):
            typer.echo(line)
    if not reports:
        typer.echo(audit_messages.no_events())
    for line in audit_messages.verify_limits(reports, with_slack=slack):
        typer.echo(line)
    raise typer.Exit(0 if all(report.intact for report in reports) else 1)


@audit_cli.command("export")
def audit_export(
    format: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    output: Annotated[str | None, typer.Option(help="Write to this file instead of standard output.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this workspace (team id).")] = None,
) -> None:
    """Write the audit log as an auditor asks for it: who, role, what, when, payload, and the chain hashes."""
    from bot.audit_check import export_rows

    if format not in ("csv", "jsonl"):
        typer.echo("steward: --format must be csv or jsonl", err=True)
        raise typer.Exit(2)
    engine = _engine(_settings(), migrate=False)
    stream = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        count = export_rows(engine, stream, format=format, team_id=team)
    finally:
        if output:
            stream.close()
    if output:
        typer.echo(f"wrote {count} events to {output}", err=True)


def main() -> None:
    try:
        cli()
    except ConfigError as error:  # pragma: no cover - settings errors are caught in _settings
        typer.echo(f"steward: configuration error: {error}", err=True)
        sys.exit(2)
