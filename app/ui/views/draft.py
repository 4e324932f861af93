"""Draft a message: buyer dispute replies and platform appeals with the deadline, the evidence
to attach and the rules relied on. The form asks only what the chosen case type uses (its
`fields` in cases.yaml). Drafts are saved and listed in History, which can reopen them here."""

from __future__ import annotations

from datetime import date

import streamlit as st

from app.components.text import plural
from app.services.deadlines import deadline
from app.services.drafting import DATE_FIELDS, DraftingError, parse_case
from app.ui.resources import drafting, engine, ensure_index, md_escape, slug

PROPOSALS = {
    None: "No proposal",
    "refund": "Full refund",
    "partial_refund": "Partial refund",
    "resend": "Send a replacement",
    "return": "Return for a refund",
}
TONES = {"warm": "Warm", "neutral": "Neutral", "firm": "Firm"}
LABELS = {
    "order_id": "Order number",
    "tracking_number": "Tracking number",
    "carrier": "Carrier",
    "amount": "Amount (for a refund), e.g. USD 12.50",
    "shipped_date": "Shipped on",
    "dispute_opened": "Dispute or request opened on",
    "penalty_date": "Penalty, complaint or ruling date",
    "order_date": "Ordered on",
    "buyer_claim": "What the buyer says (for your reference; not copied into the draft)",
    "evidence": "Evidence you have, one item per line",
}
WIDE = ("buyer_claim", "evidence")  # text areas below the two columns
REOPEN = "draft_reopen"  # set by History: {"case": saved case, "text": saved draft text}

st.title("Draft a message")
ensure_index()
service = drafting()
types = {t.id: t for t in service.templates.types}
state = st.session_state


def key(name: str) -> str:
    return f"case-{name}"


def reopen(saved: dict) -> None:
    """Put a saved case back into the form (and its text into the draft box)."""
    case = saved["case"]
    if case.get("type") not in types:
        st.warning("That draft's case type no longer exists.")
        return
    state["draft-group"] = (
        "AliExpress (appeal)" if types[case["type"]].group == "platform" else "Buyer"
    )
    state["draft-type"] = case["type"]
    for name in LABELS:
        value = case.get(name)
        if name in DATE_FIELDS:
            value = date.fromisoformat(value) if value else None
        elif name == "evidence":
            value = "\n".join(value or [])
        state[key(name)] = value or ("" if name not in DATE_FIELDS else None)
    state[key("proposal")] = case.get("proposal")
    state[key("tone")] = case.get("tone", "neutral")
    for claim in case.get("confirmed", []):
        state[key(f"claim-{claim}")] = True
    try:
        state.draft_result = service.draft(parse_case({**case, "today": None}))
        state.draft_text = saved.get("text") or state.draft_result.text
    except DraftingError as exc:
        st.error(str(exc))


def value(name: str, default: object) -> dict:
    """`value=` only for a widget whose state is not set yet (Streamlit warns about both)."""
    return {} if key(name) in state else {"value": default}


if REOPEN in state:
    reopen(state.pop(REOPEN))

with st.sidebar, st.expander("Deadline calculator", expanded=False, icon=":material/event:"):
    start = st.date_input("Start date", value=date.today(), key="calc-start")
    days = st.number_input("Days allowed", min_value=0, max_value=365, value=5, key="calc-days")
    working = st.toggle("Working days (China's calendar)", key="calc-working")
    result = deadline("Deadline", start, int(days), date.today(), working)
    message = f"Due {result.due:%a %d %b %Y}: " + (
        f"overdue by {plural(-result.days_left, 'day')}"
        if result.overdue
        else f"{plural(result.days_left, 'day')} left"
    )
    (st.error if result.overdue else st.info)(message)
    if working:
        st.caption(
            "AliExpress counts working days in China: public holidays are skipped and the "
            "official make-up working days count."
        )

group = st.segmented_control(
    "Message to", ["Buyer", "AliExpress (appeal)"], default="Buyer", key="draft-group"
)
wanted = "platform" if group == "AliExpress (appeal)" else "buyer"
choices = [t.id for t in types.values() if t.group == wanted]
if state.get("draft-type") not in choices:
    state["draft-type"] = choices[0]
case_type = st.selectbox(
    "Case type", choices, format_func=lambda t: types[t].title, key="draft-type"
)
chosen = types[case_type]

with st.form("case"):
    given: dict[str, object] = {}
    columns = st.columns(2)
    short = [f for f in chosen.fields if f in LABELS and f not in WIDE]
    for n, name in enumerate(short):
        column = columns[n % 2]
        if name in DATE_FIELDS:
            given[name] = column.date_input(LABELS[name], key=key(name), **value(name, None))
        else:
            given[name] = column.text_input(LABELS[name], key=key(name), **value(name, ""))
    left, right = st.columns(2)
    if "proposal" in chosen.fields:
        given["proposal"] = left.selectbox(
            "What you propose", list(PROPOSALS), format_func=PROPOSALS.get, key=key("proposal")
        )
    given["tone"] = (right if "proposal" in chosen.fields else left).radio(
        "Tone",
        list(TONES),
        format_func=TONES.get,
        horizontal=True,
        key=key("tone"),
        **({} if key("tone") in state else {"index": 1}),
    )
    for name in WIDE:
        if name in chosen.fields:
            given[name] = st.text_area(LABELS[name], key=key(name), **value(name, ""))
    confirmed = []
    if chosen.claims:
        st.markdown("**Tick only what is true.** The draft states nothing else on your behalf.")
        for claim in chosen.claims:
            if st.checkbox(claim.say, key=key(f"claim-{claim.id}")):
                confirmed.append(claim.id)
    llm = engine()
    polish = llm.llm is not None and st.checkbox(
        f"Polish the wording with {llm.label} (facts are checked and kept verbatim)"
    )
    submitted = st.form_submit_button("Draft the message", type="primary")

if submitted:
    raw = {"type": case_type, **given, "confirmed": confirmed}
    raw["buyer_claim"] = raw.get("buyer_claim") or None
    try:
        case = parse_case(raw)
        result = service.draft(case)
        if polish:
            with st.spinner("Polishing the wording…"):
                result = service.polish(result, llm.llm, llm.llm_settings)
        service.save(case, result)
        state.draft_result = result
        state.draft_text = result.text
    except DraftingError as exc:
        st.error(str(exc))


def bullets(items: list[str]) -> str:
    return "\n".join(f"- {md_escape(item)}" for item in items)


result = state.get("draft_result")
if result is not None:
    for item in result.deadlines:
        text = (
            f"{item.what}: due {item.due:%a %d %b %Y} "
            + (
                f"(OVERDUE by {plural(-item.days_left, 'day')})"
                if item.overdue
                else f"({plural(item.days_left, 'day')} left)"
            )
            + f". Basis: {item.basis}."
        )
        (st.error if item.overdue else st.warning)(text, icon=":material/schedule:")
    if not result.deadlines:
        st.info(
            "The knowledge base sets no deadline for this case, or the date it counts from "
            "is missing. Check the countdown on the case page."
        )
    if result.polished_by:
        st.caption(md_escape(f"Reworded by {result.polished_by}; every fact checked."))
    for warning in result.warnings:
        st.warning(warning)
    draft_col, side = st.columns([3, 2], gap="medium")
    with draft_col:
        text = state.get("draft_text", result.text)
        lines = sum(1 + len(p) // 70 for p in text.split("\n"))  # wrapped lines, roughly
        text = st.text_area(
            "Your draft (edit freely before sending)", key="draft_text", height=28 * lines + 40
        )
        st.download_button(
            "Download as text",
            text,
            file_name=f"{slug(result.title, 'draft')}.txt",
            icon=":material/download:",
        )
        with st.expander("Copy the text", icon=":material/content_copy:"):
            st.code(text, language=None, wrap_lines=True)  # the code block has a copy button
    with side:
        if result.missing:
            wanted_facts = dict.fromkeys(
                m.label + (f" (for {m.needed_for})" if m.needed_for else "") for m in result.missing
            )
            st.warning("**Would be better with:**\n" + bullets(list(wanted_facts)))
        if result.suggestions:
            st.info(
                "**Not in the draft until you confirm it:**\n" + bullets(result.suggestions),
                icon=":material/lightbulb:",
            )
    st.subheader("Evidence to attach")
    if result.evidence_present:
        st.success("**In your evidence list:**\n" + bullets(result.evidence_present))
    if result.evidence_missing:
        st.warning("**Not in your evidence list yet:**\n" + bullets(result.evidence_missing))
    st.subheader("Rules this relies on")
    for c in result.citations:
        with st.container(border=True):
            st.markdown(f"**[{c.n}] {md_escape(c.title)} › {md_escape(c.section)}**")
            st.markdown(f"> {md_escape(c.quote)}")
            if c.url:
                st.link_button("Open public source", c.url)
