"""Check listings page: paste one listing or upload a catalogue export (CSV/XLSX); findings with
filters by severity and rule, each opening its cited rule; CSV and Markdown download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.catalogue import CatalogueError, Listing, read_catalogue_bytes, split_markets
from app.services.listing_check import (
    CatalogueReport,
    ListingCheckError,
    report_csv,
    report_markdown,
)
from app.ui.resources import container, database, ensure_index, md_escape, slug

st.title("Check listings")
st.caption(
    "Find the listings that put the store at risk: brands without authorisation, counterfeit "
    "wording, prohibited goods, search cheating, missing EU safety details and misleading "
    "claims. Each finding names the words to change and cites the rule behind it."
)
ensure_index()
state = st.session_state


@st.cache_resource(show_spinner=False, max_entries=8)
def _checker(_database, path: str):
    return container().listings(_database)


def checker():
    """Cached per database file, so each rule's citation is looked up once per process."""
    db = database()
    return _checker(db, str(db.path))


# A radio, not tabs: tabs fall back to the first one when an upload reruns the page.
mode = st.radio(
    "What to check", ["One listing", "Upload a catalogue"], horizontal=True, key="listing_mode"
)


def one_listing() -> None:
    with st.form("one-listing"):
        title = st.text_input("Title")
        description = st.text_area("Description", height=100)
        left, right = st.columns(2)
        category = left.text_input("Category", placeholder="e.g. Mobile Phone Bags & Cases")
        brand = right.text_input("Brand (if any)")
        markets = left.text_input("Target markets", placeholder="e.g. DE, FR, US")
        authorised = right.checkbox("I hold this brand's authorisation")
        with st.expander("EU details, certificates and more"):
            manufacturer = st.text_input("Manufacturer (name and address)")
            responsible = st.text_input("EU Responsible Person")
            safety = st.text_input("Warnings and safety information")
            certificates = st.text_input("Certificates on file", placeholder="e.g. CE, EN 71")
            attributes = st.text_input("Attributes")
        if st.form_submit_button("Check listing", type="primary"):
            listing = Listing(
                title=title, description=description, category=category, brand=brand,
                markets=split_markets(markets), authorised=authorised, manufacturer=manufacturer,
                responsible_person=responsible, safety=safety, certificates=certificates,
                attributes=attributes, id="pasted listing",
            )  # fmt: skip
            try:
                with st.spinner("Checking…"):
                    findings = checker().check(listing)
                state.listing_report = CatalogueReport("pasted listing", 1, findings)
            except ListingCheckError as exc:
                st.error(str(exc))


def catalogue_upload() -> None:
    file = st.file_uploader("Catalogue export (CSV or XLSX)", type=["csv", "xlsx"])
    if st.button("Check catalogue", type="primary", disabled=file is None) and file is not None:
        settings = container().settings
        if file.size > settings.catalogue_max_mb * 1e6:
            st.error(
                f"{file.name} is {file.size / 1e6:.1f} MB, over the "
                f"{settings.catalogue_max_mb:.0f} MB limit; split the export into smaller files."
            )
        else:
            try:
                listings = read_catalogue_bytes(file.getvalue(), file.name)
                bar = st.progress(0.0, text="Checking listings…")
                service = checker()
                report = service.check_catalogue(
                    listings,
                    file.name,
                    lambda done, total: bar.progress(done / total, text=f"{done} of {total}"),
                )
                bar.empty()
                service.save_summary(report)
                state.listing_report = report
            except (CatalogueError, ListingCheckError) as exc:
                st.error(str(exc))


if mode == "One listing":
    one_listing()
else:
    catalogue_upload()

report: CatalogueReport | None = state.get("listing_report")
if report is not None:
    st.subheader(f"Findings: {md_escape(report.source)}")
    counts = report.by_severity()
    cols = st.columns(5)
    cols[0].metric("Listings at risk", f"{report.at_risk} of {report.listings}")
    for col, (severity, n) in zip(cols[1:], counts.items(), strict=True):
        col.metric(severity.capitalize(), n)
    if report.listings > 1 and report.findings:
        st.caption("The self-inspection's listing questions can start from this check.")
    if not report.findings:
        st.success("No rule risks found.")
    else:
        left, right = st.columns(2)
        present = [s for s, n in counts.items() if n]
        severities = left.multiselect("Severity", present, default=present)
        rules = sorted({f.rule for f in report.findings})
        chosen = right.multiselect("Rule", rules, default=rules)
        shown = [f for f in report.findings if f.severity in severities and f.rule in chosen]
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "listing": f.listing_id,
                        "title": f.title,
                        "severity": f.severity,
                        "rule": f.rule,
                        "words": "; ".join(f.words),
                        "change": f.change,
                    }
                    for f in shown
                ]
            ),
            hide_index=True,
        )
        for f in shown[:200]:
            marks = "".join(f"[{c.n}]" for c in f.citations)
            with st.expander(f"{f.severity.upper()} · {f.listing_id} · {f.rule} {marks}"):
                st.markdown(f"**Words to change:** {md_escape('; '.join(f.words))}")
                if f.detail:
                    st.caption(md_escape(f.detail))
                st.markdown(f"**What to change:** {md_escape(f.change)}")
                if not f.citations:
                    st.warning("No verified citation for this rule in the knowledge base.")
                for c in f.citations:
                    st.markdown(f"> [{c.n}] {md_escape(c.quote)}")
                    where = " › ".join(x for x in (c.title, c.section) if x)
                    st.caption(md_escape(f"{where} · {c.source}"))
                    if c.url:
                        st.link_button("Open public source", c.url)
        if len(shown) > 200:
            st.caption(f"Showing the first 200 of {len(shown)}; download the report for all.")
    name = slug(report.source, "listings")
    left, right = st.columns(2)
    left.download_button(
        "Download CSV", report_csv(report), f"listing-check-{name}.csv", "text/csv"
    )
    right.download_button(
        "Download Markdown", report_markdown(report), f"listing-check-{name}.md", "text/markdown"
    )
