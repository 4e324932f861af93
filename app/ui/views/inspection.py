"""Self-inspection page: a guided store health check, one section at a time, saved as you go,
ending in a scored, cited action plan to download. The answer screen is a fragment: a click
saves and redraws that screen only, not the whole page."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.components.text import plural
from app.services.inspection import InspectionError
from app.services.report_export import numbered, report_markdown, report_pdf
from app.ui.resources import ensure_index, inspections, md_escape, slug

LABELS = {"yes": "Yes", "no": "No", "unsure": "Unsure", "na": "Not applicable"}

st.title("Store self-inspection")
ensure_index()
service = inspections()
checklist = service.checklist
state = st.session_state


def fmt(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.0f}"


def save(inspection_id: int, item_id: str) -> None:
    answer = state.get(f"ans-{inspection_id}-{item_id}")
    if answer:
        service.answer(
            inspection_id, item_id, answer, state.get(f"note-{inspection_id}-{item_id}", "")
        )


def start_screen() -> None:
    st.caption(
        "Answer a short profile, then one section at a time. Every question shows the "
        "rule behind it; the report at the end lists what to fix first, with sources."
    )
    with st.form("start"):
        name = st.text_input("Store name", placeholder="e.g. Sunny Gadgets Store")
        profile = {p.id: st.checkbox(p.question) for p in checklist.profile}
        if st.form_submit_button("Start inspection", type="primary"):
            try:
                state.inspection_id = service.start(name, profile)
                state.section = 0
                state.view = "answer"
                st.rerun()
            except InspectionError as exc:
                st.error(str(exc))
    unfinished = [i for i in service.list() if i.completed_at is None]
    if unfinished:
        st.subheader("Resume an inspection")
        by_id = {i.id: i for i in unfinished}
        chosen = st.selectbox(
            "Unfinished inspections",
            list(by_id),
            format_func=lambda i: (
                f"{by_id[i].store_name} · {by_id[i].updated_at}"
                f" UTC · {len(by_id[i].answers)} answered"
            ),
        )
        if st.button("Resume"):
            state.inspection_id, state.section, state.view = chosen, 0, "answer"
            st.rerun()


def finish(inspection_id: int) -> None:
    """Button callback: the report replaces the answer screen on the next run."""
    service.complete(inspection_id)
    state.view = "report"
    state.pop("confirm-finish", None)


def finish_early(inspection_id: int, unanswered: int) -> None:
    """Button callback: with questions left, ask first (the score would be partial)."""
    if unanswered:
        state["confirm-finish"] = True
    else:
        finish(inspection_id)


def go_to(section: int) -> None:
    state.section = section


@st.fragment
def answer_screen(inspection_id: int) -> None:
    if state.get("view") == "report":  # finished from a button in here: redraw the page
        st.rerun()
    inspection = service.get(inspection_id)
    applicable = checklist.applicable(inspection.profile)
    sections = [s for s in checklist.sections if any(sec.id == s.id for sec, _ in applicable)]
    index = min(state.get("section", 0), len(sections) - 1)
    section = sections[index]
    answered = sum(1 for _, i in applicable if i.id in inspection.answers)
    st.progress(
        answered / len(applicable),
        text=f"{md_escape(inspection.store_name)}: {answered} of {len(applicable)} answered",
    )
    hints = service.catalogue_hints()
    if hints and st.button(f"Answer listing questions from the last catalogue check ({hints[0]})"):
        filled = service.prefill_from_catalogue(inspection_id)
        for item_id in hints[1]:
            state.pop(f"ans-{inspection_id}-{item_id}", None)  # show the stored answers
        st.toast(f"{filled} question(s) answered from the catalogue check; change any you like.")
        st.rerun()
    st.subheader(f"{index + 1}/{len(sections)} · {section.title}")
    for sec, item in applicable:
        if sec.id != section.id:
            continue
        given = inspection.answers.get(item.id)
        with st.container(border=True):
            st.markdown(f"**{md_escape(item.question)}**")
            st.caption(f"Severity: {item.severity.value}")
            st.radio(
                "Answer",
                list(LABELS),
                format_func=LABELS.get,
                horizontal=True,
                index=list(LABELS).index(given.answer) if given else None,
                key=f"ans-{inspection_id}-{item.id}",
                on_change=save,
                args=(inspection_id, item.id),
                label_visibility="collapsed",
            )
            current = state.get(f"ans-{inspection_id}-{item.id}") or (given and given.answer)
            if current in ("no", "unsure"):
                st.text_input(
                    "Note (optional)",
                    value=given.note if given else "",
                    key=f"note-{inspection_id}-{item.id}",
                    on_change=save,
                    args=(inspection_id, item.id),
                )
                for question in item.follow_up:
                    st.caption(f"Check: {md_escape(question)}")
            with st.expander("Why this matters and the rule behind it"):
                st.markdown(md_escape(item.why))
                st.caption(
                    f"Yes means: {md_escape(item.yes_means)}  \nNo means: "
                    f"{md_escape(item.no_means)}"
                )
                for c in service.citations_for(item):
                    st.markdown(f"> {md_escape(c.quote)}")
                    where = " › ".join(x for x in (c.title, c.section) if x)
                    st.caption(md_escape(f"{where} · {c.source}"))
                    if c.url:
                        st.link_button("Open public source", c.url)
    back, forward = st.columns(2)
    back.button(
        "Back",
        disabled=index == 0,
        icon=":material/arrow_back:",
        on_click=go_to,
        args=(index - 1,),
    )
    last = index == len(sections) - 1
    forward.button(
        "See report" if last else "Next",
        type="primary",
        icon=":material/arrow_forward:",
        on_click=finish if last else go_to,
        args=(inspection_id,) if last else (index + 1,),
    )
    st.divider()  # finishing early is set apart from Next, and asks first
    left = len(applicable) - answered
    if state.get("confirm-finish") and left:
        with st.container(border=True):
            st.warning(
                f"{plural(left, 'question')} of {len(applicable)} unanswered. The score "
                f"will rest on {plural(answered, 'answer')} only and be marked partial.",
                icon=":material/warning:",
            )
            yes, no = st.columns(2)
            yes.button("Yes, finish now", type="primary", on_click=finish, args=(inspection_id,))
            no.button("Keep answering", on_click=lambda: state.pop("confirm-finish", None))
    else:
        st.button(
            "Finish now and see report",
            icon=":material/summarize:",
            on_click=finish_early,
            args=(inspection_id, left),
        )


BANDS = {"80 and over": "#2e7d32", "50 to 79": "#efa000", "under 50": "#c62828"}


def band(score: float) -> str:
    return "80 and over" if score >= 80 else "50 to 79" if score >= 50 else "under 50"


def section_chart(report) -> tuple[alt.LayerChart, int]:
    """One bar per section with its full title above the bar (axis labels get cut off and
    overlap on a phone; text marks do not), and the height it needs."""
    rows = [s for s in report.sections if s.score is not None]
    scores = pd.DataFrame(
        {
            "section": [s.title for s in rows],
            "score": [s.score for s in rows],
            "band": [band(s.score) for s in rows],
            "label": [
                f"{s.title}: {s.score:.0f} · {s.answered} of {s.applicable} answered" for s in rows
            ],
        }
    )
    height = 46 * len(rows) + 50
    base = alt.Chart(scores).encode(
        y=alt.Y("section:N", sort=None, axis=None, scale=alt.Scale(paddingInner=0.1))
    )
    bars = base.mark_bar(size=14, cornerRadiusEnd=3, yOffset=8).encode(
        x=alt.X("score:Q", scale=alt.Scale(domain=[0, 100]), title="score (0-100)"),
        color=alt.Color(
            "band:N",
            scale=alt.Scale(domain=list(BANDS), range=list(BANDS.values())),
            legend=None,
        ),
        tooltip=["section", "score"],
    )
    labels = base.mark_text(align="left", baseline="bottom", dy=-2, fontSize=13).encode(
        x=alt.datum(0), text="label:N"
    )
    return (bars + labels).properties(height=height - 50), height


def report_screen(inspection_id: int) -> None:
    report = service.report(inspection_id)
    previous = report.comparison
    delta = None
    if previous and previous.previous_score is not None and report.score is not None:
        delta = f"{report.score - previous.previous_score:+.0f} since {previous.previous_date[:10]}"
    left, right = st.columns([1, 2], vertical_alignment="center")
    left.metric("Overall score", fmt(report.score), delta=delta)
    coverage = f"{fmt(report.score)}, {report.coverage()}"
    if report.partial:
        right.warning(
            f"**{coverage}.** {plural(report.unanswered, 'question')} unanswered; "
            "answer them for a score of the whole store.",
            icon=":material/warning:",
        )
    else:
        right.success(f"**{coverage}.**", icon=":material/task_alt:")
    st.caption(f"{plural(len(report.findings), 'finding')} to act on, highest risk first below.")
    chart, height = section_chart(report)
    st.altair_chart(chart, width="stretch", height=height)
    trend = service.history_of(report.store_name)
    if len(trend) > 1:
        st.caption("Score trend for this store")
        st.line_chart(
            pd.DataFrame(
                {
                    "inspection": [i.created_at[:16] for i, _ in trend],
                    "score": [r.score or 0 for _, r in trend],
                }
            ),
            x="inspection",
            y="score",
            height=200,
        )
    if previous:
        for label, items in (("Improved", previous.improved), ("Regressed", previous.regressed)):
            for item in items:
                since = previous.previous_date[:10]
                st.caption(md_escape(f"{label} since {since}: {item['question']}"))
    name = slug(report.store_name, "store")
    dl1, dl2, again = st.columns(3)
    dl1.download_button(
        "Download Markdown",
        report_markdown(report),
        on_click="ignore",
        file_name=f"inspection-{name}.md",
        mime="text/markdown",
        icon=":material/download:",
    )
    dl2.download_button(
        "Download PDF",
        lambda: report_pdf(report),  # built on click, not on every visit
        on_click="ignore",
        file_name=f"inspection-{name}.pdf",
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
    )
    if again.button("Back to the answers"):
        state.view = "answer"
        st.rerun()
    st.subheader("Action plan, highest risk first")
    if not report.findings:
        st.success("No open findings: every answered item is in order.")
    for number, (finding, cites) in enumerate(
        zip(report.findings, numbered(report), strict=True), 1
    ):
        with st.container(border=True):
            marks = " ".join(f"[{n}]" for n, _ in cites)
            st.markdown(f"**{number}. {md_escape(finding.question)}**")
            st.caption(
                f"{finding.severity} · answered {LABELS[finding.answer].lower()} · "
                f"{md_escape(finding.section)}"
            )
            if finding.note:
                st.markdown(f"**Your note:** {md_escape(finding.note)}")
            st.markdown(f"{md_escape(finding.why)} {marks}")
            st.markdown("\n".join(f"- {md_escape(step)}" for step in finding.remediation))
            if finding.evidence:
                st.caption(md_escape("Evidence to keep: " + "; ".join(finding.evidence)))
            if finding.deadline:
                st.warning(f"Deadline: {finding.deadline}", icon=":material/schedule:")
            for n, c in cites:
                st.markdown(f"> [{n}] {md_escape(c.quote)}")
                st.caption(md_escape(f"{c.title} › {c.section} · {c.source}"))


with st.sidebar:
    if state.get("inspection_id") and st.button("New inspection", icon=":material/add:"):
        for key in ("inspection_id", "section", "view"):
            state.pop(key, None)
        st.rerun()

if not state.get("inspection_id"):
    start_screen()
else:
    try:
        if state.get("view") == "report":
            report_screen(state.inspection_id)
        else:
            answer_screen(state.inspection_id)
    except InspectionError as exc:
        st.warning(str(exc))
        state.pop("inspection_id", None)
