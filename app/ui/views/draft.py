"""Draft a message: buyer dispute replies and platform appeals with the deadline, the evidence
to attach and the rules relied on. Drafts are saved and listed in History."""

from __future__ import annotations

from datetime import date

import streamlit as st

from app.services.deadlines import deadline
from app.services.drafting import DraftingError, parse_case
from app.ui.resources import drafting, engine, ensure_index, md_escape, slug

PROPOSALS = {
    None: "No proposal",
    "refund": "Full refund",
    "partial_refund": "Partial refund",
    "resend": "Send a replacement",
    "return": "Return for a refund",
}
TONES = {"warm": "Warm", "neutral": "Neutral", "firm": "Firm"}

st.title("Draft a message")
ensure_index()
service = drafting()
types = {t.id: t for t in service.templates.types}

with st.sidebar, st.expander("Deadline calculator", expanded=False, icon=":material/event:"):
    start = st.date_input("Start date", value=date.today(), key="calc-start")
    days = st.number_input("Days allowed", min_value=0, max_value=365, value=5, key="calc-days")
    working = st.toggle("Working days (China's calendar)", key="calc-working")
    result = deadline("Deadline", start, int(days), date.today(), working)
    message = f"Due {result.due:%a %d %b %Y}: " + (
        f"overdue by {-result.days_left} day(s)"
        if result.overdue
        else f"{result.days_left} day(s) left"
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
case_type = st.selectbox(
    "Case type", choices, format_func=lambda t: types[t].title, key="draft-type"
)

with st.form("case"):
    left, right = st.columns(2)
    order_id = left.text_input("Order number")
    tracking = right.text_input("Tracking number")
    carrier = left.text_input("Carrier")
    amount = right.text_input("Amount (for a refund), e.g. USD 12.50")
    shipped = left.date_input("Shipped on", value=None)
    opened = right.date_input("Dispute or request opened on", value=None)
    penalty = left.date_input("Penalty, complaint or ruling date", value=None)
    order_date = right.date_input("Ordered on", value=None)
    proposal = left.selectbox("What you propose", list(PROPOSALS), format_func=PROPOSALS.get)
    tone = right.radio("Tone", list(TONES), format_func=TONES.get, index=1, horizontal=True)
    claim = st.text_area("What the buyer says (for your reference; not copied into the draft)")
    evidence = st.text_area("Evidence you have, one item per line")
    llm = engine()
    polish = llm.llm is not None and st.checkbox(
        f"Polish the wording with {llm.label} (facts are checked and kept verbatim)"
    )
    submitted = st.form_submit_button("Draft the message", type="primary")

if submitted:
    raw = {
        "type": case_type,
        "order_id": order_id,
        "tracking_number": tracking,
        "carrier": carrier,
        "amount": amount,
        "shipped_date": shipped,
        "dispute_opened": opened,
        "penalty_date": penalty,
        "order_date": order_date,
        "proposal": proposal,
        "tone": tone,
        "buyer_claim": claim or None,
        "evidence": evidence,
    }
    try:
        case = parse_case(raw)
        result = service.draft(case)
        if polish:
            with st.spinner("Polishing the wording…"):
                result = service.polish(result, llm.llm, llm.llm_settings)
        service.save(case, result)
        st.session_state.draft_result = result
        st.session_state.draft_text = result.text
    except DraftingError as exc:
        st.error(str(exc))

result = st.session_state.get("draft_result")
if result is not None:
    for item in result.deadlines:
        text = (
            f"{item.what}: due {item.due:%a %d %b %Y} "
            + (
                f"(OVERDUE by {-item.days_left} day(s))"
                if item.overdue
                else f"({item.days_left} day(s) left)"
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
    if result.missing:
        wanted_facts = dict.fromkeys(m.label for m in result.missing)
        st.caption(md_escape("Would be better with: " + ", ".join(wanted_facts)))
    text = st.text_area("Your draft (edit freely before sending)", key="draft_text", height=320)
    st.download_button(
        "Download as text",
        text,
        file_name=f"{slug(result.title, 'draft')}.txt",
        icon=":material/download:",
    )
    with st.expander("Copy the text", icon=":material/content_copy:"):
        st.code(text, language=None, wrap_lines=True)  # the code block has a copy button
    st.subheader("Evidence to attach")
    for item in result.evidence:
        st.checkbox(item, key=f"evidence-{slug(item, 'item')}")
    st.subheader("Rules this relies on")
    for c in result.citations:
        with st.container(border=True):
            st.markdown(f"**[{c.n}] {md_escape(c.title)} › {md_escape(c.section)}**")
            st.markdown(f"> {md_escape(c.quote)}")
            if c.url:
                st.link_button("Open public source", c.url)
