"""Knowledge base page: what is indexed, add documents, re-index, remove, and what changed."""

from __future__ import annotations

import streamlit as st

from app.services.knowledge import UploadRejected
from app.ui.resources import ensure_index, knowledge, md_escape

TYPES = ["md", "txt", "html", "htm", "pdf", "docx"]

st.title("Knowledge base")
ensure_index()
kb = knowledge()


def run_ingest(paths=None, label="Indexing…"):
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)
        report = kb.ingest(paths, progress=lambda s, n, t: bar.progress(n / max(t, 1), text=s))
        status.update(
            label=f"Done: {report.added} passages added, {report.updated} updated, "
            f"{report.deleted} removed, {report.unchanged} unchanged "
            f"({report.seconds:.1f} s).",
            state="complete",
        )
    for source, reason in report.skipped:
        st.warning(f"Skipped {source}: {reason}")
    return report


documents = kb.documents()
left, right = st.columns(2)
left.metric("Documents", len(documents))
right.metric("Passages", sum(d.chunks for d in documents))

changes = kb.last_changes()
if changes:
    with st.expander(f"Changed in the last update ({changes['finished_at']} UTC)", expanded=True):
        for item in changes["changed"]:
            st.markdown(f"- **{item['change']}**: {md_escape(item['source'])}")

st.dataframe(
    [
        {
            "title": d.title,
            "topic": d.topic,
            "updated": d.updated,
            "passages": d.chunks,
            "file": d.source,
            "sources": len(d.urls),
        }
        for d in documents
    ],
    hide_index=True,
    width="stretch",
)

st.subheader("Add documents")
limit = kb.settings.max_file_mb
uploads = st.file_uploader(
    f"Markdown, text, HTML, PDF or Word files, up to {limit:g} MB each",
    type=TYPES,
    accept_multiple_files=True,
    key="uploads",
)
if uploads and st.button("Add to knowledge base", type="primary", icon=":material/upload:"):
    saved = []
    for upload in uploads:
        try:
            saved.append(kb.save_upload(upload.name, upload.getvalue()))
        except UploadRejected as exc:
            st.error(str(exc))
    if saved:
        report = run_ingest(saved, label=f"Indexing {len(saved)} file(s)…")
        st.success(f"Added {', '.join(p.name for p in saved)}. You can ask about it now.")

st.subheader("Maintenance")
col_a, col_b = st.columns(2)
with col_a:
    st.caption("Re-read the knowledge folder and index what changed.")
    if st.button("Re-index", icon=":material/refresh:"):
        run_ingest(label="Re-indexing the knowledge folder…")
with col_b:
    if documents:
        source = st.selectbox(
            "Remove a document", [d.source for d in documents], key="remove-choice"
        )
        if st.button("Remove from index", icon=":material/delete:"):
            removed = kb.remove(source)
            note = (
                ""
                if source.startswith("uploads/")
                else (
                    " The file is still in the knowledge folder, so a re-index brings it back; "
                    "delete the file to remove it for good."
                )
            )
            st.success(f"Removed {source} ({removed} passage(s)).{note}")
