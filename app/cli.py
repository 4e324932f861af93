"""`compliance`: the command-line face of the same services the app uses.

Every expected failure (bad input, store unreachable, model mismatch) ends as one clear line
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.components.database import DatabaseError
from app.components.errors import ModelMismatchError, ModelNotFoundError, StoreUnavailableError
from app.settings import get_settings, setting_problems

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Offline compliance assistant for AliExpress sellers: cited answers from your rulebook.",
)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 140)
errors = Console(stderr=True, soft_wrap=True)
EXPECTED = (StoreUnavailableError, ModelMismatchError, ModelNotFoundError, DatabaseError)


@cli.callback()
def _setup() -> None:
    """Library warnings go to DATA_DIR/compliance.log, not between the lines for the user."""
    from app.components.logs import route_library_logs

    route_library_logs(get_settings())


def _progress(label: str, quiet: bool) -> Progress:
    """A transient progress bar on stderr (off when the output is JSON)."""
    return Progress(
        TextColumn(f"[bold blue]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=quiet,
    )


def _fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[bold red]Error:[/] {escape(message)}")
    return typer.Exit(code)


@cli.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: knowledge dir)")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the index and re-embed everything")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Index guidance documents into the vector store (incremental: only changes are embedded)."""
    from app.container import build
    from ingest.pipeline import IngestBusyError

    container = build(get_settings())
    progress = Progress(
        TextColumn("[bold blue]Indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=as_json,
    )
    try:
        try:
            database = container.database()
        except DatabaseError as exc:  # indexing does not need it; the run just isn't listed
            errors.print(f"[yellow]Warning:[/] {escape(str(exc))}")
            database = None
        with progress:
            task = progress.add_task("", total=None)

            def step(source: str, number: int, total: int) -> None:
                progress.update(task, total=total, completed=number - 1, description=source)

            report = container.knowledge(database).ingest(
                paths or None,
                rebuild=rebuild,
                progress=step,
                notice=lambda text: errors.print(f"[yellow]{escape(text)}[/]"),
            )
            progress.update(task, completed=report.files_seen)
    except (*EXPECTED, IngestBusyError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _print_report(report)
    if report.failure:
        raise _fail(report.failure, code=1)


def _print_report(report) -> None:
    table = Table(title="Ingest summary", show_header=False, box=None)
    table.add_row("files read", f"{report.files_read} of {report.files_seen}")
    table.add_row("chunks added", str(report.added))
    table.add_row("chunks updated", str(report.updated))
    table.add_row("chunks deleted", str(report.deleted))
    table.add_row("chunks unchanged", str(report.unchanged))
    table.add_row("chunks in index", str(report.chunks_total))
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    for path, reason in report.skipped:
        console.print(f"[yellow]skipped[/] {escape(path)}: {escape(reason)}")
    for path, warning in report.warnings:
        console.print(f"[yellow]warning[/] {escape(path)}: {escape(warning)}")
    for source, change in sorted(report.changed_sources.items()):
        console.print(f"[green]{change}[/] {escape(source)}")


Provider = Annotated[
    str | None,
    typer.Option(
        "--provider", help="Answer engine: extractive, openai, ollama or llamacpp (default: .env)"
    ),
]
BaseUrl = Annotated[str | None, typer.Option(help="LLM endpoint (default: LLM_BASE_URL)")]
Model = Annotated[str | None, typer.Option("--model", help="LLM model (default: LLM_MODEL)")]


def _answerer(provider: str | None, base_url: str | None, model: str | None):
    """The container and the engine the options and settings ask for (keys only from .env)."""
    from app.components.llm import ProviderError
    from app.container import build

    overrides = {"llm_provider": provider, "llm_base_url": base_url, "llm_model": model}
    values = {k: v for k, v in overrides.items() if v is not None}
    base = get_settings()  # a bad .env value is reported by main()
    try:
        settings = base.updated(**values)
    except ValidationError as exc:
        problem = exc.errors()[0]
        option = "--" + str(problem["loc"][0]).removeprefix("llm_").replace("_", "-")
        raise _fail(f"Bad option {option}: {problem['msg']}") from None
    try:
        container = build(settings)
        return container, container.engine()
    except (*EXPECTED, ProviderError) as exc:
        raise _fail(str(exc)) from None


@cli.command()
def ask(
    question: Annotated[
        str, typer.Argument(help="The question, or - to read one per line from stdin")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer object as JSON")
    ] = False,
    provider: Provider = None,
    base_url: BaseUrl = None,
    model: Model = None,
) -> None:
    """Answer a rule question with citations from the knowledge base (an LLM's answer is
    streamed, then shown again as verified against its sources)."""
    _, engine = _answerer(provider, base_url, model)
    questions = _stdin_lines() if question == "-" else [question]
    answer = None
    for text in questions:
        try:
            answer = _ask_one(engine, text, as_json)
        except Exception as exc:  # one bad line never stops a batch: report it and go on
            if question != "-":
                raise
            problem = f"{type(exc).__name__}: {exc}"
            if as_json:
                print(json.dumps({"question": text, "error": problem}, ensure_ascii=False))
            else:
                errors.print(f"[bold red]Error:[/] {escape(text[:80])}: {escape(problem)}")
            continue
        if as_json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        else:
            _print_answer(answer)
    if question != "-" and answer and answer.error and answer.error != "empty_index":
        raise typer.Exit(2)


def _stdin_lines() -> list[str]:
    """One question per line; bytes that are not UTF-8 become U+FFFD, never an abort."""
    raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    text = raw.decode("utf-8-sig", "replace")
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def _ask_one(engine, question: str, as_json: bool):
    """Ask, streaming an LLM's tokens as they arrive: in a terminal they are replaced by the
    verified answer; in a pipe they stay, under a header, before it."""
    from rich.live import Live
    from rich.text import Text

    if as_json or not engine.streams:
        return engine.ask(question)
    if console.is_terminal:
        streamed: list[str] = []
        with Live(Text(""), console=console, transient=True, refresh_per_second=12) as live:

            def show(token: str) -> None:
                streamed.append(token)
                live.update(Text("".join(streamed), style="dim"))

            return engine.ask(question, on_token=show)
    console.print(f"[dim]Streaming from {escape(engine.label)}; the verified answer follows.[/]")
    wrote = False

    def write(token: str) -> None:
        nonlocal wrote
        wrote = True
        sys.stdout.write(token)
        sys.stdout.flush()

    answer = engine.ask(question, on_token=write)
    if wrote:
        print()
    return answer


def _print_answer(answer) -> None:
    style = "yellow" if answer.refused else "green"
    console.print(
        Panel(escape(answer.text), title=escape(answer.question[:80]), border_style=style),
        soft_wrap=False,
    )
    if answer.engine != "extractive" and not answer.provider_error and not answer.refused:
        console.print(
            f"[dim]Written by {escape(answer.engine)}; every sentence was checked against the "
            "source it cites.[/]"
        )
    for note in answer.notes:
        if note not in answer.text:
            console.print(f"[dim]{escape(note)}[/]")
    if answer.citations:
        for c in answer.citations:
            where = " > ".join(x for x in (c.title, c.section) if x)
            page = f", page {c.page}" if c.page else ""
            console.print(f"[bold][{c.n}][/] {escape(where)}{page}  [dim]{escape(c.source)}[/]")
            console.print(f"    “{escape(c.quote)}”")
            if c.url:
                console.print(f"    [link={c.url}]{escape(c.url)}[/link]")
    elif answer.refused and answer.passages:
        console.print("[bold]Closest matches:[/]")
        for p in answer.passages[:3]:
            console.print(f" - {escape(p.title)} > {escape(p.section)}  [dim]{escape(p.source)}[/]")


@cli.command("eval")
def evaluate_cmd(
    questions: Annotated[Path, typer.Option(help="Question set (YAML)")] = Path(
        "eval/questions.yaml"
    ),
    split: Annotated[
        str, typer.Option(help="Questions to run: dev, test or all (both, reported apart)")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    gate_split: Annotated[
        str | None,
        typer.Option(help="Split the --min/--max gates apply to (default: test, else dev)"),
    ] = None,
    gate_lang: Annotated[
        str | None,
        typer.Option(help="Language the gates apply to (default: all questions of the split)"),
    ] = None,
    min_recall5: Annotated[float, typer.Option(help="Exit 1 if recall@5 is lower")] = 0.0,
    min_key_facts: Annotated[
        float, typer.Option(help="Exit 1 if key-fact accuracy is lower")
    ] = 0.0,
    min_refusal_recall: Annotated[
        float, typer.Option(help="Exit 1 if refusal recall is lower")
    ] = 0.0,
    max_false_refusals: Annotated[
        float, typer.Option(help="Exit 1 if more answerable questions are refused")
    ] = 1.0,
    min_citation_validity: Annotated[
        float, typer.Option(help="Exit 1 if citation validity is lower")
    ] = 0.0,
    min_lang_key_facts: Annotated[
        str,
        typer.Option(
            help="Per-language floors on the gate split, e.g. 'zh=0.6,es=0.6': exit 1 if a named"
            " language's key-fact accuracy is lower (its citation validity is held to"
            " --min-citation-validity too)"
        ),
    ] = "",
    provider: Provider = None,
    base_url: BaseUrl = None,
    model: Model = None,
) -> None:
    """Score answers on a question set, dev and test splits apart: recall, MRR, key facts,
    refusals, false refusals, citation validity, with 95% bootstrap intervals. With --provider,
    scores that LLM's verified answers on the same questions."""
    from app.services.evaluation import QuestionSetError, document_reader, evaluate, load_questions

    if split not in ("dev", "test", "all"):
        raise _fail("--split must be dev, test or all.")
    lang_floors = _floors(min_lang_key_facts)
    try:
        items = load_questions(questions)
    except QuestionSetError as exc:
        raise _fail(str(exc)) from None
    items = [i for i in items if split in ("all", i.split)]
    if not items:
        raise _fail(f"No {split} questions in {questions}.")
    container, engine = _answerer(provider, base_url, model)
    with _progress("Evaluating", quiet=as_json) as progress:
        task = progress.add_task("", total=len(items))
        report = evaluate(
            engine,
            items,
            document_reader(container.store),
            progress=lambda done, _total: progress.update(task, completed=done),
        )
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_eval(report)
    gated = gate_split or ("test" if "test" in report.splits else "dev")
    if gated not in report.splits:
        raise _fail(f"No {gated} questions were run, so the gates cannot be checked.")
    chosen = report.splits[gated]
    if gate_lang and gate_lang not in chosen.by_language:
        raise _fail(f"No {gate_lang} questions in the {gated} split.")
    scores = chosen.by_language[gate_lang] if gate_lang else chosen.overall
    gates = [
        ("recall@5", scores.recall_at_5, min_recall5, 1),
        ("key-fact accuracy", scores.key_fact_accuracy, min_key_facts, 1),
        ("refusal recall", _or(scores.refusal_recall, 1.0), min_refusal_recall, 1),
        ("false refusals", _or(scores.false_refusals, 0.0), max_false_refusals, -1),
        ("citation validity", _or(scores.citation_validity, 1.0), min_citation_validity, 1),
    ]
    broken = [
        f"{name} {value:.3f} {'<' if sign > 0 else '>'} {limit:.3f}"
        for name, value, limit, sign in gates
        if (value - limit) * sign < 0
    ]
    for lang, floor in lang_floors.items():
        found = chosen.by_language.get(lang)
        if found is None:
            broken.append(f"no {lang} questions")
            continue
        if found.key_fact_accuracy < floor:
            broken.append(f"{lang} key-fact accuracy {found.key_fact_accuracy:.3f} < {floor:.3f}")
        if _or(found.citation_validity, 1.0) < min_citation_validity:
            broken.append(f"{lang} citation validity {found.citation_validity:.3f}")
    if broken:
        where = f"{gated} split" + (f", {gate_lang}" if gate_lang else "")
        raise _fail(f"Evaluation ({where}) below the required level: " + "; ".join(broken), 1)


def _floors(text: str) -> dict[str, float]:
    """'zh=0.6,es=0.6' as {language: floor}; a malformed entry is a clear error."""
    floors: dict[str, float] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        lang, _, value = entry.partition("=")
        try:
            floors[lang.strip()] = float(value)
        except ValueError:
            raise _fail(f"--min-lang-key-facts: '{entry}' is not language=number.") from None
        if not lang.strip() or not 0 <= floors[lang.strip()] <= 1:
            raise _fail(f"--min-lang-key-facts: '{entry}' needs a language and a 0-1 floor.")
    return floors


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _print_eval(report) -> None:
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    columns = (
        "group",
        "n",
        "R@1",
        "R@5",
        "MRR@10",
        "facts",
        "all facts",
        "refusal P",
        "refusal R",
        "false ref.",
        "citations",
    )
    for name, split in report.splits.items():
        table = Table(title=f"Evaluation: {name} split")
        for column in columns:
            table.add_column(column, justify="right" if column != "group" else "left")
        rows = [*split.by_category.items()]
        if len(split.by_language) > 1:
            rows += [(f"lang {k}", v) for k, v in split.by_language.items()]
        rows.append(("overall", split.overall))
        for label, s in rows:
            table.add_row(
                label,
                str(s.questions),
                fmt(s.recall_at_1),
                fmt(s.recall_at_5),
                fmt(s.mrr_at_10),
                fmt(s.key_fact_accuracy),
                fmt(s.answers_fully_correct),
                fmt(s.refusal_precision),
                fmt(s.refusal_recall),
                fmt(s.false_refusals),
                fmt(s.citation_validity),
                style="bold" if label == "overall" else None,
            )
        console.print(table)
        spans = ", ".join(
            f"{k.replace('_', ' ')} {lo:.3f}-{hi:.3f}" for k, (lo, hi) in split.intervals.items()
        )
        console.print(f"[dim]95% intervals ({name}): {spans}[/]")
    overall = report.overall
    if overall.model_answers or overall.fallbacks:
        console.print(
            f"LLM answers used (verified): {overall.model_answers} of {overall.questions}; "
            f"fell back to the extractive answer: {overall.fallbacks}."
        )
    if report.failures:
        console.print(f"[bold]Failures ({len(report.failures)}):[/]")
        for item in report.failures:
            console.print(
                f"  {item.id} [{item.split}/{item.category}] {escape(item.question[:70])}: "
                f"{escape('; '.join(item.problems))}"
            )


@cli.command()
def calibrate(
    questions: Annotated[Path, typer.Option(help="Question set (YAML)")] = Path(
        "eval/questions.yaml"
    ),
    out: Annotated[
        Path | None, typer.Option(help="Where to write the model (default: REFUSAL_MODEL)")
    ] = None,
    max_false_refusals: Annotated[
        float | None,
        typer.Option(
            help="Share of covered dev questions the threshold may refuse (default: 0.05, "
            "the issue's target)"
        ),
    ] = None,
    sentences_out: Annotated[
        Path | None,
        typer.Option(help="Where to write the sentence ranking (default: SENTENCE_MODEL)"),
    ] = None,
) -> None:
    """Fit the sentence ranking and then the answer-or-refuse model on the dev split (5-fold
    cross-validation each) and store their coefficients (and the refusal model's trees) as
    data; the test split is never read."""
    from app.services.evaluation import QuestionSetError, load_questions

    try:
        from app.services.calibration import collect, collect_sentences, fit, fit_sentences
    except ImportError:
        raise _fail("calibrate needs scikit-learn: pip install -e '.[dev]'") from None
    try:
        items = [i for i in load_questions(questions) if i.split == "dev"]
    except QuestionSetError as exc:
        raise _fail(str(exc)) from None
    from app.container import build

    target = out or get_settings().refusal_model or Path("eval/refusal-model.json")
    ranker_target = (
        sentences_out or get_settings().sentence_model or Path("eval/sentence-model.json")
    )
    # The sentences' measures do not depend on a fitted model, and the refusal signals only on
    # the sentence ranking: the quoted engine is enough to collect both.
    settings = get_settings().updated(
        refusal_model=None, sentence_model=None, llm_provider="extractive"
    )
    try:
        ranking = fit_sentences(collect_sentences(build(settings).assistant, items))
        ranking.model.save(ranker_target)
        console.print(
            f"Sentence ranking fitted on {ranking.sentences} sentences of {ranking.questions} "
            f"covered dev questions: out of fold the four best hold "
            f"{ranking.cv_facts_in_top:.3f} of the key facts (hand-set weights "
            f"{ranking.hand_facts_in_top:.3f}). Written to {ranker_target}."
        )
        settings = settings.updated(sentence_model=ranker_target)
        rows, labels, held = collect(build(settings).assistant, items)
    except EXPECTED as exc:
        raise _fail(str(exc)) from None
    if len(set(labels)) < 2:
        raise _fail("The dev split needs both covered and uncovered questions to calibrate.")
    cap = {} if max_false_refusals is None else {"max_false_refusals": max_false_refusals}
    report = fit(rows, labels, held=held, **cap)
    report.model.save(target)
    console.print(
        f"Fitted on {report.questions} dev questions ({report.answerable} covered): "
        f"threshold {report.model.threshold:.3f} (other languages "
        f"{report.model.translated_threshold or report.model.threshold:.3f}), caution below "
        f"{report.model.caution_below:.3f}; out of fold: AUC {report.cv_auc:.3f}, "
        f"false refusals {report.cv_false_refusals:.3f}, "
        f"refusal recall {report.cv_refusal_recall:.3f}. Written to {target}."
    )


@cli.command()
def inspect(
    list_items: Annotated[bool, typer.Option("--list", help="List every checklist item")] = False,
    answers: Annotated[Path | None, typer.Option(help="Answers file (YAML) to report on")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the report as Markdown here")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write the report as PDF here")] = None,
    store: Annotated[
        str | None, typer.Option(help="Store name (default: from answers file)")
    ] = None,
    resume: Annotated[
        int | None, typer.Option(help="Resume an interactive inspection by id")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Store self-inspection: list the checklist, report on an answers file, or answer
    interactively (saved as you go; resume with --resume ID)."""
    from app.services.checklist import ChecklistError, load_checklist

    settings = get_settings()
    try:
        checklist = load_checklist(settings.checklist_path)
    except ChecklistError as exc:
        raise _fail(str(exc)) from None
    if list_items:
        rows = [
            {
                "id": i.id,
                "section": s.title,
                "question": i.question,
                "severity": i.severity.value,
                "applies_to": i.applies_to,
            }
            for s, i in checklist.items()
        ]
        if as_json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        table = Table(title=f"{checklist.title} ({len(rows)} items)")
        for column in ("id", "section", "severity", "question", "applies_to"):
            table.add_column(column)
        for r in rows:
            table.add_row(
                r["id"], r["section"], r["severity"], r["question"], ", ".join(r["applies_to"])
            )
        console.print(table)
        return

    from app.components.yamlfile import read_yaml
    from app.container import build
    from app.services.inspection import InspectionError, parse_answers
    from app.services.report_export import report_markdown, report_pdf

    try:
        container = build(settings)
        service = container.inspections(container.database())
        if answers is not None:
            raw = read_yaml(answers, InspectionError, "answers file")
            profile, file_store, given = parse_answers(raw)
            inspection_id = service.start(store or file_store or "My store", profile)
            for item_id, answer in given.items():
                service.answer(inspection_id, item_id, answer.answer, answer.note)
            service.complete(inspection_id)
        else:
            inspection_id = _interactive(service, store, resume)
        result = service.report(inspection_id)
    except InspectionError as exc:
        raise _fail(str(exc)) from None
    except EXPECTED as exc:
        raise _fail(str(exc)) from None
    if report:
        report.write_text(report_markdown(result), encoding="utf-8")
    if pdf:
        pdf.write_bytes(report_pdf(result))
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
        return
    _print_inspection(result, report, pdf)


@cli.command()
def draft(
    list_types: Annotated[bool, typer.Option("--list-types", help="List the case types")] = False,
    case: Annotated[
        Path | None, typer.Option(help="Case file (YAML) to draft a message for")
    ] = None,
    save: Annotated[bool, typer.Option(help="Also save the draft in the app's history")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    polish: Annotated[
        bool, typer.Option("--polish", help="Reword with the LLM provider (facts kept verbatim)")
    ] = False,
    provider: Provider = None,
    base_url: BaseUrl = None,
    model: Model = None,
) -> None:
    """Draft a buyer dispute reply or a platform appeal, with deadlines, evidence and rules."""
    from app.components.yamlfile import read_yaml
    from app.services.drafting import DraftingError, load_templates, parse_case

    settings = get_settings()
    try:
        templates = load_templates(settings.templates_path)
    except DraftingError as exc:
        raise _fail(str(exc)) from None
    if list_types or case is None:
        rows = [
            {"type": t.id, "for": t.group, "title": t.title, "needs": t.needs}
            for t in templates.types
        ]
        if as_json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for r in rows:
                console.print(f"[bold]{r['type']}[/] ({r['for']}): {escape(r['title'])}")
            if case is None and not list_types:
                console.print("Give a case file with --case case.yaml to draft a message.")
        return

    try:
        parsed = parse_case(read_yaml(case, DraftingError, "case file"))
    except DraftingError as exc:
        raise _fail(str(exc)) from None
    container, engine = _answerer(provider, base_url, model)
    if polish and engine.llm is None:
        raise _fail("--polish needs an LLM: set LLM_PROVIDER in .env or pass --provider.")
    try:
        service = container.drafting(container.database() if save else None)
        result = service.draft(parsed)
        if polish:
            result = service.polish(result, engine.llm, engine.llm_settings)
        if save:
            service.save(parsed, result)
    except DraftingError as exc:
        raise _fail(str(exc)) from None
    except EXPECTED as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
        return
    console.rule(escape(result.title))
    print(result.text)  # plain, so it copies cleanly
    console.rule()
    if result.polished_by:
        console.print(f"[dim]Reworded by {escape(result.polished_by)}; every fact checked.[/]")
    for d in result.deadlines:
        state = "[bold red]OVERDUE[/]" if d.overdue else f"{d.days_left} day(s) left"
        console.print(f"Deadline: {escape(d.what)}: {d.due.isoformat()} ({state}; {d.basis})")
    console.print("Evidence to attach: " + "; ".join(result.evidence))
    if result.evidence_missing:
        console.print(
            "[yellow]Not in your evidence list yet:[/] "
            + escape("; ".join(result.evidence_missing))
        )
    for suggestion in result.suggestions:  # claims the seller has not confirmed
        console.print(f"[cyan]Not in the draft until you confirm it:[/] {escape(suggestion)}")
    for c in result.citations:
        console.print(f"[{c.n}] {escape(c.title)} > {escape(c.section)}: “{escape(c.quote)}”")
    for fact in result.missing:
        why = f" (for {fact.needed_for})" if fact.needed_for else ""
        console.print(f"[yellow]Would be better with:[/] {escape(fact.label + why)}")
    for warning in result.warnings:
        console.print(f"[yellow]{escape(warning)}[/]")


@cli.command("repair-db")
def repair_db() -> None:
    """Keep a damaged app database aside (as app.sqlite.corrupt-<date>) and start a fresh one."""
    from app.components.database import Database, set_aside

    settings = get_settings()
    path = settings.app_db_path
    try:
        Database(path)
    except DatabaseError as exc:
        if not exc.damaged:
            raise _fail(str(exc)) from None
        kept = set_aside(path)
        Database(path)
        console.print(f"The damaged database was kept as {kept}; a fresh one is ready at {path}.")
        return
    console.print(f"{path} is healthy; nothing to repair.")


# -- listing check (issue 18) ------------------------------------------------------------------
def _listing_service(settings):
    """The listing checker on the indexed rulebook; a bad rules file fails as one line."""
    from app.container import build
    from app.services.listing_rules import ListingRulesError

    container = build(settings)
    try:
        container.listing_rules  # noqa: B018 - validate the YAML before loading the model
    except ListingRulesError as exc:
        raise _fail(str(exc)) from None
    try:
        database = container.database()
    except DatabaseError as exc:  # the check works; only the summary for inspections is lost
        errors.print(f"[yellow]Warning:[/] {escape(str(exc))}")
        database = None
    return container.listings(database)


def _print_findings(findings, heading: str) -> None:
    console.rule(escape(heading))
    if not findings:
        console.print("[green]No rule risks found.[/]")
    for f in findings:
        marks = "".join(f"[{c.n}]" for c in f.citations)
        console.print(
            f"[bold]{escape(f.severity.upper())}[/] {escape(f.rule)} {escape(marks)}  "
            f"[dim]{escape(f.listing_id)} · {escape(f.field)}[/]"
        )
        console.print(f"   words: {escape('; '.join(f.words))}")
        if f.detail:
            console.print(f"   [dim]{escape(f.detail)}[/]")
        console.print(f"   -> {escape(f.change)}")


def _print_rules_cited(findings) -> None:
    shown: set[str] = set()
    for f in findings:
        if f.rule_id in shown:
            continue
        shown.add(f.rule_id)
        for c in f.citations:
            console.print(
                f"[bold]{escape(f.rule)}[/] [{c.n}] {escape(c.title)} > {escape(c.section)}: "
                f"“{escape(c.quote)}” [dim]{escape(c.url)}[/]"
            )


@cli.command("check-listings")
def check_listings(
    file: Annotated[Path, typer.Argument(help="Catalogue export: CSV or XLSX")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the report here (.csv or .md)")
    ] = None,
) -> None:
    """Check a whole catalogue export against the rulebook: every rule risk, with the words
    to change and the rule cited; summarised by rule and severity."""
    from app.components.catalogue import CatalogueError, read_catalogue
    from app.services.listing_check import ListingCheckError, report_csv, report_markdown

    settings = get_settings()
    if out is not None and out.suffix.lower() not in (".csv", ".md"):
        raise _fail(f"--out must end in .csv or .md, not '{out.suffix or out.name}'.")
    try:
        listings = read_catalogue(file, settings.catalogue_max_mb)
    except CatalogueError as exc:
        raise _fail(str(exc)) from None
    try:
        service = _listing_service(settings)
        with _progress("Checking", quiet=as_json) as progress:
            task = progress.add_task("", total=len(listings))
            report = service.check_catalogue(
                listings,
                file.name,
                lambda done, total: progress.update(task, completed=done, total=total),
            )
        service.save_summary(report)
    except (*EXPECTED, ListingCheckError) as exc:
        raise _fail(str(exc)) from None
    if out is not None:
        text = report_csv(report) if out.suffix.lower() == ".csv" else report_markdown(report)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _fail(f"Cannot write {out}: {exc.strerror or exc}.") from None
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_findings(report.findings, f"{file.name}: {len(report.findings)} findings")
    table = Table(title="Summary by rule")
    for column in ("severity", "rule", "listings"):
        table.add_column(column)
    for row in report.by_rule():
        table.add_row(row["severity"], row["rule"], str(row["listings"]))
    console.print(table)
    counts = ", ".join(f"{n} {s}" for s, n in report.by_severity().items() if n)
    console.print(
        f"{report.listings} listings checked in {report.seconds:.1f} s; "
        f"{report.at_risk} at risk ({counts or 'no findings'})."
    )
    _print_rules_cited(report.findings)
    if out is not None:
        console.print(f"Report written to {out}")


@cli.command("check-listing")
def check_listing(
    title: Annotated[str, typer.Option(help="The listing's title")],
    description: Annotated[str, typer.Option(help="The listing's description")] = "",
    category: Annotated[str, typer.Option(help="The category it is listed in")] = "",
    brand: Annotated[str, typer.Option(help="The brand it is listed under")] = "",
    authorised: Annotated[
        bool, typer.Option("--authorised", help="You hold the brand's authorisation")
    ] = False,
    price: Annotated[float | None, typer.Option(help="Price")] = None,
    attributes: Annotated[str, typer.Option(help="Attributes as text")] = "",
    markets: Annotated[str, typer.Option(help="Target markets, e.g. 'DE, FR, US'")] = "",
    manufacturer: Annotated[str, typer.Option(help="Manufacturer name and address")] = "",
    responsible_person: Annotated[str, typer.Option(help="EU Responsible Person")] = "",
    safety: Annotated[str, typer.Option(help="Warnings and safety information")] = "",
    certificates: Annotated[str, typer.Option(help="Certificates on file, e.g. 'CE, FDA'")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Check one listing against the rulebook."""
    from app.components.catalogue import Listing, split_markets
    from app.services.listing_check import ListingCheckError

    listing = Listing(
        title=title, description=description, category=category, brand=brand,
        price=price, attributes=attributes, markets=split_markets(markets),
        authorised=authorised, manufacturer=manufacturer,
        responsible_person=responsible_person, safety=safety, certificates=certificates,
        id="listing",
    )  # fmt: skip
    try:
        findings = _listing_service(get_settings()).check(listing)
    except (*EXPECTED, ListingCheckError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2))
        return
    _print_findings(findings, title[:80])
    _print_rules_cited(findings)


def _interactive(service, store: str | None, resume: int | None) -> int:
    from rich.prompt import Confirm, Prompt

    if resume is not None:
        inspection = service.get(resume)
        inspection_id = inspection.id
        console.print(f"Resuming inspection {inspection_id} of {escape(inspection.store_name)}.")
    else:
        name = store or Prompt.ask("Store name", default="My store")
        profile = {p.id: Confirm.ask(p.question, default=False) for p in service.checklist.profile}
        inspection_id = service.start(name, profile)
        console.print(
            f"Inspection {inspection_id} started; answers are saved as you go "
            f"(resume with --resume {inspection_id})."
        )
        inspection = service.get(inspection_id)
    todo = [
        (s, i)
        for s, i in service.checklist.applicable(inspection.profile)
        if i.id not in inspection.answers
    ]
    for number, (section, item) in enumerate(todo, 1):
        console.rule(f"{escape(section.title)} ({number}/{len(todo)})")
        console.print(f"[bold]{escape(item.question)}[/]  [dim]{item.severity.value}[/]")
        console.print(f"[dim]Why: {escape(item.why)}[/]")
        answer = Prompt.ask("Answer", choices=["yes", "no", "unsure", "na", "stop"], default="yes")
        if answer == "stop":
            console.print(f"Saved. Resume with: compliance inspect --resume {inspection_id}")
            break
        note = Prompt.ask("Note (optional)", default="") if answer != "yes" else ""
        service.answer(inspection_id, item.id, answer, note)
    else:
        service.complete(inspection_id)
    return inspection_id


def _print_inspection(result, report_path: Path | None, pdf_path: Path | None) -> None:
    def fmt(score):
        return "n/a" if score is None else f"{score:.0f}/100"

    console.print(
        f"[bold]{escape(result.store_name)}[/]: overall {fmt(result.score)} "
        f"({result.applicable - result.unanswered}/{result.applicable} answered)"
    )
    for s in result.sections:
        console.print(f"  {escape(s.title):<34} {fmt(s.score)}")
    for n, f in enumerate(result.findings, 1):
        console.print(
            f"{n}. [{'red' if f.severity == 'critical' else 'yellow'}]"
            f"{f.severity}[/] {escape(f.question)} ({f.answer})"
        )
        console.print(f"   -> {escape(f.remediation[0])}")
    for path in (report_path, pdf_path):
        if path:
            console.print(f"Report written to {path}")


@cli.command()
def coverage(
    sheets: Annotated[
        list[Path] | None, typer.Argument(help="Research sheets (default: RESEARCH_SHEETS)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Every fact as JSON")] = False,
    missing: Annotated[bool, typer.Option(help="List the facts not covered")] = False,
    min_coverage: Annotated[
        float | None, typer.Option(help="Fail below this share of figure-bearing facts")
    ] = None,
) -> None:
    """Is every fact of the research sheets in the knowledge base? Each bullet's figures
    (amounts, durations, counts, dates) are looked up in knowledge/, with the document that
    holds them and whether its source address is kept."""
    from app.services.coverage import check

    settings = get_settings()
    paths = sheets or settings.research_sheets
    unreadable = [p for p in paths if not p.is_file()]
    if unreadable:
        raise _fail(f"Research sheet not found: {unreadable[0]}")
    if not settings.knowledge_dir.is_dir():
        raise _fail(f"Knowledge folder not found: {settings.knowledge_dir}")
    report = check(paths, settings.knowledge_dir)
    if as_json:
        print(
            json.dumps(
                {
                    "coverage": report.coverage,
                    "sources_kept": report.sources_kept,
                    "facts": [f.to_dict() for f in report.facts],
                },
                indent=2,
            )
        )
    else:
        table = Table("Sheet", "Facts with figures", "Covered", "Share")
        for sheet, (covered, total) in report.by_sheet().items():
            table.add_row(sheet, str(total), str(covered), f"{covered / total:.1%}")
        console.print(table)
        documents: dict[str, int] = {}
        for fact in report.with_figures:
            if fact.covered:
                documents[fact.document] = documents.get(fact.document, 0) + 1
        console.print(
            "Covered facts by document: "
            + ", ".join(f"{name} {n}" for name, n in sorted(documents.items()))
        )
        console.print(
            f"{len(report.facts)} facts, {len(report.with_figures)} with a figure: "
            f"{report.coverage:.1%} covered; source address kept for {report.sources_kept:.1%} "
            "of the facts that name one."
        )
        if missing:
            for fact in report.with_figures:
                if not fact.covered:
                    console.print(
                        f"  missing {', '.join(fact.missing)}: {fact.sheet}:{fact.line} "
                        f"{escape(fact.text[:100])}"
                    )
    if min_coverage is not None and report.coverage < min_coverage:
        raise _fail(f"coverage {report.coverage:.1%} is below the {min_coverage:.0%} floor", 1)


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        errors.print("Interrupted.")
        sys.exit(130)
    except ValidationError as exc:  # a bad value in .env or the environment
        for problem in setting_problems(exc):
            errors.print(f"[bold red]Error:[/] {escape(problem)}")
        sys.exit(2)
    except Exception as exc:  # last resort: one readable line instead of a traceback
        if os.environ.get("COMPLIANCE_DEBUG"):
            raise
        message = str(exc)
        try:
            key = get_settings().llm_api_key
        except Exception:  # the settings themselves may be what failed
            key = None
        if key and key.get_secret_value():
            message = message.replace(key.get_secret_value(), "***")  # never echo the key
        errors.print(
            f"[bold red]Unexpected error:[/] {escape(type(exc).__name__)}: {escape(message)}"
        )
        errors.print("Set COMPLIANCE_DEBUG=1 to see the full traceback.")
        sys.exit(3)


if __name__ == "__main__":
    main()
