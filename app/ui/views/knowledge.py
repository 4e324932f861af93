"""Knowledge base page: what is indexed, add documents, re-index, remove, and what changed.

Every change ends in a rerun, so the counts and the table above always show the index as it
is now; what the change did is kept for that rerun and shown once."""

from __future__ import annotations

import streamlit as st

from app.components.text import plural
from app.services.knowledge import DuplicateUpload, UploadRejected
from app.ui.resources import ensure_index, knowledge, md_escape

TYPES = ["md", "txt", "html", "htm", "pdf", "docx"]
FLASH = "kb-flash"  # [(kind, message)] from the last change, shown after its rerun
ROUND = "kb-round"  # new widget keys after each change: no file chips or choice left over

st.title("Knowledge base")
ensure_index()
kb = knowledge()
state = st.session_state


def done(*messages: tuple[str, str]) -> None:
    """Keep what happened for the rerun that shows the fresh counts, with fresh widgets."""
    state[FLASH] = [*state.get(FLASH, []), *messages]
    state[ROUND] = state.get(ROUND, 0) + 1
    st.rerun()


def run_ingest(paths=None, label="Indexing…"):
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)
        report = kb.ingest(paths, progress=lambda s, n, t: bar.progress(n / max(t, 1), text=s))
        status.update(
            label=f"Done: {plural(report.added, 'passage')} added, {report.updated} updated, "
            f"{report.deleted} removed, {report.unchanged} unchanged "
            f"({report.seconds:.1f} s).",
            state="complete",
        )
    skipped = [("warning", f"Skipped {source}: {reason}") for source, reason in report.skipped]
    return report, skipped


for kind, message in state.pop(FLASH, []):
    getattr(st, kind)(message)

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
    key=f"uploads-{state.get(ROUND, 0)}",
    max_upload_size=max(1, round(limit)),  # the uploader says the same limit as the label
)
if uploads and st.button("Add to knowledge base", type="primary", icon=":material/upload:"):
    saved, messages = [], []
    for upload in uploads:
        try:
            saved.append(kb.save_upload(upload.name, upload.getvalue()))
        except DuplicateUpload as exc:
            messages.append(("info", str(exc)))
        except UploadRejected as exc:
            messages.append(("error", str(exc)))
    if saved:
        report, skipped = run_ingest(saved, label=f"Indexing {plural(len(saved), 'file')}…")
        names = ", ".join(p.name for p in saved)
        messages = [
            (
                "success",
                f"Added {names} ({plural(report.added, 'passage')}). You can ask about it now.",
            ),
            *messages,
            *skipped,
        ]
    done(*messages)

st.subheader("Maintenance")
col_a, col_b = st.columns(2)
with col_a:
    st.caption("Re-read the knowledge folder and index what changed.")
    if st.button("Re-index", icon=":material/refresh:"):
        report, skipped = run_ingest(label="Re-indexing the knowledge folder…")
        done(("success", f"Re-indexed: {len(report.changed_sources)} changed."), *skipped)


@st.dialog("Remove this document?")
def confirm_removal(source: str, passages: int) -> None:
    st.markdown(
        f"**{md_escape(source)}** ({plural(passages, 'passage')}) will no longer be used "
        "for answers."
    )
    if not source.startswith("uploads/"):
        st.caption(
            "The file stays in the knowledge folder, so a re-index brings it back; delete "
            "the file to remove it for good."
        )
    yes, no = st.columns(2)
    if yes.button("Remove", type="primary", icon=":material/delete:"):
        removed = kb.remove(source)
        done(("success", f"Removed {source} ({plural(removed, 'passage')})."))
    if no.button("Cancel"):
        st.rerun()


with col_b:
    if documents:
        by_source = {d.source: d for d in documents}
        source = st.selectbox(
            "Remove a document",
            list(by_source),
            index=None,
            placeholder="Choose a document to remove",
            key=f"remove-choice-{state.get(ROUND, 0)}",
        )
        if st.button("Remove from index", icon=":material/delete:", disabled=source is None):
            confirm_removal(source, by_source[source].chunks)
