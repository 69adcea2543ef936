"""Command-line tools: `flask --app app <command>`. Names are relied on by other tools."""
from __future__ import annotations

import os
import subprocess
import sys

import click
from flask import Flask, current_app

from . import db


def register_commands(app: Flask) -> None:
    from .backup import backup_command
    from .grading.answers_command import check_answer_command, check_answers_command
    from .grading.evaluation_command import evaluate_grader_command
    from .lean.command import lean_check_command

    for command in (init_db_command, seed_demo_command, export_gradebook_command, create_token_command,
                    create_user_command, password_link_command,
                    worker_command, serve_command, evaluate_grader_command, lean_check_command,
                    import_bank_command, export_bank_command, propose_reasons_command, check_answers_command,
                    check_answer_command, lti_add_platform_command, lti_tool_config_command,
                    export_dataset_command, run_benchmark_command):
        app.cli.add_command(command)
    app.cli.add_command(backup_command)


@click.command("init-db")
def init_db_command():
    """Create or upgrade the database schema (Alembic migrations)."""
    from .migrate import upgrade_to_head

    url = current_app.config["DATABASE_URL"]
    before, head = upgrade_to_head(url)
    where = _printable_url(url)
    if before is None:
        click.echo(f"Created the database schema (version {head}) in {where}.")
    elif before != head:
        click.echo(f"Upgraded the database schema in {where} from version {before} to {head}.")
    else:
        click.echo(f"The database schema in {where} is up to date (version {head}).")


def _printable_url(url: str) -> str:
    """The database URL without its password, to say which database a command used."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.command("seed-demo")
def seed_demo_command():
    """Create the demo course DEMO101 with its teacher, students and graded work (idempotent)."""
    from .services import demo

    summary = demo.seed(db.session())
    click.echo(summary)


@click.command("export-gradebook")
@click.option("--course", "code", required=True, help="Course code, e.g. DEMO101.")
@click.option("--format", "fmt", type=click.Choice(["plain", "canvas"]), default="plain", show_default=True)
def export_gradebook_command(code: str, fmt: str):
    """Write the course's gradebook CSV to standard output."""
    from .services import courses, gradebook
    from .services.errors import ServiceError

    s = db.session()
    try:
        course = courses.get_course(s, code)
        owner = _an_instructor_of(s, course)
        click.echo(gradebook.export_csv(s, owner, course, fmt), nl=False)
    except ServiceError as exc:
        raise click.ClickException(exc.message)


def _an_instructor_of(s, course):
    from sqlmodel import select

    from .models import ROLE_INSTRUCTOR, Enrollment, User
    user = s.exec(select(User).join(Enrollment, Enrollment.user_id == User.id).where(
        Enrollment.course_id == course.id, Enrollment.role == ROLE_INSTRUCTOR)).first()
    if user is None:
        raise click.ClickException(f"Course {course.code} has no instructor.")
    return user


@click.command("create-token")
@click.argument("email")
@click.option("--label", default="cli", help="A note to recognise the token by.")
def create_token_command(email: str, label: str):
    """Create an API token for EMAIL; the token is printed as the last line."""
    from .services import accounts
    from .services.errors import ServiceError

    try:
        token = accounts.create_token(db.session(), email, label)
    except ServiceError as exc:
        raise click.ClickException(exc.message)
    click.echo("Keep this token secret; it is shown only once. Use it as: Authorization: Bearer <token>", err=True)
    click.echo(token)


def _link(token: str) -> str:
    """The password page's full address outside a request: PUBLIC_URL, else the serve command's default."""
    from .links import password_link

    base = current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):
        return password_link(token)


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["instructor", "admin", "student"]), default="instructor",
              show_default=True, help="admin: an instructor who also approves instructor requests.")
@click.option("--name", default=None, help="The person's name (default: the part of EMAIL before the @).")
@click.option("--password", is_flag=True, default=False,
              help="Type the password now (asked twice, not echoed) instead of printing an invitation link.")
def create_user_command(email: str, role: str, name: str | None, password: bool):
    """Create an account. Without --password it has no password yet: an invitation link is printed
    (the last line), with which its owner chooses one."""
    from datetime import timedelta

    from .services import accounts
    from .services.errors import ServiceError

    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    s = db.session()
    try:
        made = accounts.create_account(s, email=email, name=name or email.split("@")[0], role=role,
                                       password=secret,
                                       lifetime=timedelta(days=current_app.config["INVITATION_DAYS"]))
    except ServiceError as exc:
        raise click.ClickException("\n".join(m for ms in exc.field_errors.values() for m in ms) or exc.message)
    what = "administrator (and instructor)" if made.user.is_admin else made.user.role
    if made.token is None:
        click.echo(f"Created {made.user.email} as {what}; they log in with the password you typed.")
        return
    click.echo(f"Created {made.user.email} as {what}. Give them this link to choose their password "
               f"(it works once, until {made.expires_at:%Y-%m-%d %H:%M} UTC):", err=True)
    click.echo(_link(made.token))


@click.command("password-link")
@click.argument("email")
def password_link_command(email: str):
    """Print a single-use link with which the owner of EMAIL chooses a new password (e.g. when e-mail
    is not set up and they forgot theirs). Their old password keeps working until the link is used."""
    from datetime import timedelta

    from .models import LINK_RESET
    from .services import accounts

    s = db.session()
    user = accounts.find_user(s, email)
    if user is None:
        raise click.ClickException(f"No account has the email {email!r}.")
    token, expires = accounts.issue_link(s, user, LINK_RESET,
                                         lifetime=timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"]))
    click.echo(f"A link for {user.email}, working once until {expires:%Y-%m-%d %H:%M} UTC:", err=True)
    click.echo(_link(token))


def end_overdue_conversations() -> int:
    """Teach-mode conversations still open when their assignment closed end at the deadline, graded on what
    they hold (services/conversations.py end_overdue): at a worker's start and with each recovery."""
    from .services import conversations

    with db.fresh_session() as s:
        return conversations.end_overdue(s, current_app.config)


@click.command("worker")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Grading jobs this process runs at once (threads); default WORKER_CONCURRENCY (8).")
def worker_command(workers: int | None):
    """Run a background worker that grades submissions."""
    from . import jobs

    workers = workers or current_app.config["WORKER_CONCURRENCY"]
    huey = jobs.huey()
    if huey.immediate:
        raise click.ClickException("This app runs jobs immediately (HUEY_IMMEDIATE); there is nothing to consume.")
    priority = _yield_the_cpu(current_app.config["WORKER_NICENESS"])
    recovered = jobs.recover_jobs()
    ended = end_overdue_conversations()
    click.echo(f"Grading worker started with {workers} threads at CPU priority {priority}"
               f" ({'Redis' if current_app.config['REDIS_URL'] else 'SQLite'} queue); "
               f"{recovered} interrupted jobs put back on the queue; "
               f"{ended} conversations left open past their deadline ended.", err=True)
    import threading

    stop = threading.Event()
    threading.Thread(target=jobs.recovery_loop, args=(current_app._get_current_object(), stop,
                                                      end_overdue_conversations),
                     name="job-recovery", daemon=True).start()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    try:
        consumer.run()
    finally:
        stop.set()


def _yield_the_cpu(niceness) -> str:
    """Lower this process's CPU priority before its threads start (they inherit it); says how, for the log.
    "idle" is Linux's SCHED_IDLE: measured with the rush's saturated submissions, a worker at nice +10
    still took half a core from the web server (237 submissions a second), one at SCHED_IDLE less
    (281 a second), as a request that wakes up takes the CPU from it at once."""
    if niceness == "idle":
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "idle (SCHED_IDLE: only CPU time nothing else wants)"
        except (AttributeError, OSError):  # not Linux: the lowest nice value instead
            niceness = 19
    if niceness:
        os.nice(niceness)
    return f"+{niceness} (nice)"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets other machines (a classroom's laptops) connect.")
@click.option("--port", default=5000, show_default=True, help="Port to listen on.")
def serve_command(host: str, port: int):
    """Run the web server and a grading worker together (one machine)."""
    import signal

    # SIGTERM (e.g. from a service manager) must also stop the worker: turn it into a normal exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    env = dict(os.environ)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], env=env)
    click.echo(f"Grading worker running (pid {worker.pid}). Open http://{host}:{port}/", err=True)
    try:
        # Flask refuses app.run() inside a CLI command; run werkzeug's server directly.
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


@click.command("import-bank")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--course", "code", required=True, help="Course code, e.g. DEMO101.")
@click.option("--format", "bank_format", type=click.Choice(["mr-gsm8k", "processbench"]), default="mr-gsm8k",
              show_default=True, help="mr-gsm8k: this app's format (mr-gsm8k/problems.jsonl); processbench: "
                                      "ProcessBench's lines (id, generator, problem, steps, final_answer_correct, "
                                      "label), imported as drafts that wait for your reasons.")
def import_bank_command(path: str, code: str, bank_format: str):
    """Import a problem bank (JSON Lines) into a course.

    Every line is checked first: if any is wrong nothing is imported and each problem is
    listed as "line N: field X: ...". Problems whose id is already in the course are skipped.
    """
    from .services import banks, courses
    from .services.errors import ServiceError

    try:
        with click.open_file(path, "rb") as fh:
            raw = fh.read(banks.MAX_BANK_BYTES + 1)
    except OSError as exc:
        raise click.ClickException(f"Cannot read {path}: {exc.strerror or exc}")
    s = db.session()
    try:
        course = courses.get_course(s, code)
        result = banks.import_bank(s, _an_instructor_of(s, course), course, raw, bank_format)
    except ServiceError as exc:
        raise click.ClickException("\n".join([exc.message, *exc.errors]))
    click.echo(result.summary())


@click.command("propose-reasons")
@click.option("--course", "code", required=True, help="Course code, e.g. DEMO101.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Ask about at most this many drafts.")
def propose_reasons_command(code: str, limit):
    """Let the grader model propose the reason of every draft key imported without one (ProcessBench).

    Each proposal is saved as it comes; the drafts stay drafts until the instructor approves them
    (the draft's page shows the proposal and who wrote it).
    """
    from .services import authoring, courses
    from .services.errors import ServiceError

    s = db.session()
    try:
        course = courses.get_course(s, code)
        result = authoring.propose_missing_reasons(s, _an_instructor_of(s, course), course, current_app.config,
                                                   limit=limit)
    except ServiceError as exc:
        raise click.ClickException(exc.message)
    for line in result.failed:
        click.echo(line, err=True)
    click.echo(result.summary()[:1].upper() + result.summary()[1:] + "; approve them on each draft's page.")
    if result.failed:
        raise SystemExit(1)


@click.command("export-bank")
@click.option("--course", "code", required=True, help="Course code, e.g. DEMO101.")
def export_bank_command(code: str):
    """Write the course's problems as a bank (JSON Lines) to standard output."""
    from .services import banks, courses
    from .services.errors import ServiceError

    s = db.session()
    try:
        course = courses.get_course(s, code)
        result = banks.export_bank(s, _an_instructor_of(s, course), course)
    except ServiceError as exc:
        raise click.ClickException(exc.message)
    click.echo(result.text, nl=False)
    if result.without_solution:
        click.echo(f"Left out {len(result.without_solution)} problem(s) with no approved flawed solution yet: "
                   + "; ".join(result.without_solution), err=True)


@click.command("export-dataset")
@click.option("--course", "code", required=True, help="Course code, e.g. DEMO101.")
@click.option("--include-planted", is_flag=True, default=False,
              help="Also write the mistakes planted by the instructor (origin \"planted\").")
@click.option("--include-hidden-exams", is_flag=True, default=False,
              help="Also write the problems of a hidden lab exam (left out otherwise: the hidden benchmark).")
def export_dataset_command(code: str, include_planted: bool, include_hidden_exams: bool):
    """Write the course's dataset of model mistakes (JSON Lines) to standard output: its approved harvested
    failures as bank lines (import-bank takes the file back) with their provenance, and no student's name,
    email or id. Harvests their group kept out of the dataset, and a hidden lab exam's problems, are left out
    and counted on standard error (docs/lab.md)."""
    from .services import courses, dataset
    from .services.errors import ServiceError

    s = db.session()
    try:
        course = courses.get_course(s, code)
        result = dataset.export_dataset(s, _an_instructor_of(s, course), course, include_planted=include_planted,
                                        include_hidden_exams=include_hidden_exams)
    except ServiceError as exc:
        raise click.ClickException(exc.message)
    click.echo(result.text, nl=False)
    click.echo(result.summary()[:1].upper() + result.summary()[1:] + ".", err=True)


@click.command("run-benchmark")
@click.option("--course", "code", required=True, help="Course code, e.g. DEMO101: the run is written to its audit log.")
@click.option("--problems", "problems_path", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Problems in the bank format (JSON Lines, as import-bank reads them); - for standard input.")
@click.option("--samples", type=click.IntRange(1, 100), required=True, help="Samples per problem (k).")
@click.option("--strategy", "strategy_path", type=click.Path(dir_okay=False), default=None,
              help="A text file holding the system prompt (default: the solver's own prompt).")
@click.option("--json", "as_json", is_flag=True, default=False,
              help='End with one JSON line: {"n_problems", "samples", "attempts", "correct", "accuracy", '
                   '"tokens_in", "tokens_out", "seconds"}.')
@click.option("--harvest-into", "harvest_code", default=None,
              help="Course code: each wrong attempt becomes a draft problem of that course, awaiting your key.")
def run_benchmark_command(code: str, problems_path: str, samples: int, strategy_path: str | None, as_json: bool,
                          harvest_code: str | None):
    """Run the solver model (SOLVER_MODEL, else GRADER_MODEL) on bank-format problems outside any lab, k times
    each, exactly as a lab run does, and print the accuracy per problem and overall (95 % Wilson intervals)."""
    import json

    from .config import model_settings
    from .services import banks, benchmark, courses
    from .services.errors import ServiceError

    s = db.session()
    try:
        course = courses.get_course(s, code)
        harvest_into = None
        if harvest_code is not None:
            target = courses.get_course(s, harvest_code)
            harvest_into = (_an_instructor_of(s, target), target)
        actor = _an_instructor_of(s, course)
    except ServiceError as exc:
        raise click.ClickException(exc.message)
    settings = model_settings(current_app.config, "SOLVER_MODEL")
    if settings is None:
        raise click.ClickException("No solver model is configured: set SOLVER_MODEL (or GRADER_MODEL), and "
                                   "OPENAI_BASE_URL for its endpoint, then run the benchmark again.")
    try:
        with click.open_file(problems_path, "rb") as fh:
            raw = fh.read(banks.MAX_BANK_BYTES + 1)
        strategy_text = None
        if strategy_path is not None:
            with open(strategy_path, encoding="utf-8") as fh:
                strategy_text = fh.read(benchmark.MAX_STRATEGY_CHARS * 4 + 1)
    except UnicodeDecodeError:
        raise click.ClickException(f"The strategy file {strategy_path} is not UTF-8 text.")
    except OSError as exc:
        raise click.ClickException(f"Cannot read {exc.filename or problems_path}: {exc.strerror or exc}")
    try:
        entries = benchmark.load_problems(raw)
        prompt = benchmark.load_strategy(strategy_text)
    except ServiceError as exc:
        raise click.ClickException("\n".join([exc.message, *exc.errors]))

    total = len(entries) * samples
    click.echo(f"Solving {len(entries)} problem{'' if len(entries) == 1 else 's'} × {samples} sample"
               f"{'' if samples == 1 else 's'} with {settings.model}…", err=True)
    try:
        if sys.stdout.isatty():  # a progress bar on a terminal only, never in a file or a pipe
            with click.progressbar(length=total, label="Attempts", show_pos=True) as bar:
                result = benchmark.run_benchmark(s, actor, course, settings, entries, samples, prompt,
                                                 harvest_into=harvest_into, on_attempt=lambda: bar.update(1))
        else:
            result = benchmark.run_benchmark(s, actor, course, settings, entries, samples, prompt,
                                             harvest_into=harvest_into)
    except benchmark.BenchmarkFailed as exc:
        _print_benchmark(exc.result)
        raise click.ClickException(exc.message)
    except ServiceError as exc:
        raise click.ClickException(exc.message)
    _print_benchmark(result)
    if result.harvested or harvest_into is not None:
        click.echo(f"{result.harvested} wrong attempt{'' if result.harvested == 1 else 's'} added to "
                   f"{harvest_into[1].code} as draft problems: mark each one's first wrong step and say why "
                   "(the problem's Edit), which approves it.")
    if as_json:
        click.echo(json.dumps(result.as_json()))


def _print_benchmark(result) -> None:
    def pct(acc) -> str:
        low, high = acc.interval
        return f"{acc.value:.1%} (95 % interval {low:.1%}–{high:.1%})" if acc.n else "no attempts"

    for p in result.problems:
        click.echo(f"{p.id}: {p.correct}/{p.attempts} correct, {pct(p.accuracy)}  {p.title}")
    click.echo(f"Overall: {result.correct} of {result.attempts} attempts correct, {pct(result.accuracy)}; "
               f"{result.tokens_in:,} prompt and {result.tokens_out:,} reply tokens in {result.seconds:.1f} s "
               f"(strategy {result.strategy_sha256[:12]}).")


@click.command("lti-add-platform")
@click.option("--issuer", required=True, help="The platform's issuer, e.g. https://canvas.instructure.com.")
@click.option("--client-id", required=True, help="The client id the LMS gave this tool.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authentication (login) URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 access token URL.")
@click.option("--key-set-url", required=True, help="The platform's public key set (JWKS) URL.")
@click.option("--deployment-id", required=True, help="The deployment id of this tool in the LMS.")
def lti_add_platform_command(issuer, client_id, auth_login_url, auth_token_url, key_set_url, deployment_id):
    """Register an LMS as an LTI 1.3 platform (again: adds a deployment, updates its URLs)."""
    from .services import lti
    from .services.errors import ServiceError

    try:
        platform, new_deployment = lti.add_platform(
            db.session(), issuer=issuer, client_id=client_id, auth_login_url=auth_login_url,
            auth_token_url=auth_token_url, key_set_url=key_set_url, deployment_id=deployment_id)
    except ServiceError as exc:
        raise click.ClickException(exc.message)
    deployment = "added" if new_deployment else "was already registered"
    click.echo(f"Registered the LTI platform {platform.issuer} (client id {platform.client_id}); "
               f"deployment {deployment_id.strip()} {deployment}.")


@click.command("lti-tool-config")
def lti_tool_config_command():
    """Print the tool's addresses and public key to paste into the LMS's LTI 1.3 registration."""
    from .services import lti
    from .services.errors import ServiceError

    try:
        urls = lti.tool_urls(current_app.config.get("PUBLIC_URL"))
    except ServiceError as exc:
        raise click.ClickException(exc.message)
    for label, url in urls.items():
        click.echo(f"{label}: {url}")
    private_pem = lti.tool_private_key(current_app.config["LTI_PRIVATE_KEY_FILE"])
    click.echo("Public key (PEM), for an LMS that asks for a key instead of the JWKS URL:")
    click.echo(lti.tool_public_key(private_pem), nl=False)
