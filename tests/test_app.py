"""The Streamlit pages through `streamlit.testing.v1.AppTest`, on a real index and database."""

from __future__ import annotations

import re
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from app.components.database import Database
from app.services.conversations import Conversations
from tests.conftest import KNOWLEDGE, REPO, app_environment

MAIN = str(REPO / "app" / "ui" / "main.py")
QUESTION = "How long does a seller have to respond to a buyer's refund request?"


@pytest.fixture(scope="module")
def app_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("apptest")
    shutil.copytree(KNOWLEDGE, base / "kb")
    with app_environment(base):
        yield base


def new_app() -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=180)
    app.run()
    assert not app.exception, app.exception
    return app


def saved(app_dirs) -> Conversations:
    return Conversations(Database(app_dirs / "data" / "app.sqlite"))


def ask(app: AppTest, question: str) -> AppTest:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception
    return app


def texts(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown) + "\n".join(c.value for c in app.caption)


def test_ask_gives_a_cited_answer_and_saves_it(app_dirs):
    app = ask(new_app(), QUESTION)
    shown = texts(app)
    assert "5 days" in shown
    assert "[[1]](#src-" in shown  # clickable marker
    assert "**[1]" in shown and ":orange-background[" in shown  # source chip, highlighted quote
    assert "Sources (" in shown
    assert not [m.value for m in app.markdown if re.search(r"https?://[^\s<>()\]]*\\", m.value)]
    conversation = saved(app_dirs).list()[0]
    stored = saved(app_dirs).get(conversation.id)
    assert [m.role for m in stored.messages] == ["user", "assistant"]
    assert stored.messages[1].answer["citations"][0]["source"] == "disputes-and-refunds.md"


def test_refusal_is_friendly_and_shows_closest_matches(app_dirs):
    app = ask(new_app(), "Who won the 2018 football World Cup?")
    assert "does not cover" in texts(app) and "Closest matches" in texts(app)
    assert app.expander and app.expander[0].proto.expanded  # the best one open


def test_legal_questions_carry_the_not_legal_advice_line(app_dirs):
    app = ask(new_app(), "What happens when US customs seizes counterfeit goods?")
    assert "consult a lawyer" in texts(app)


def test_feedback_and_comment_are_stored(app_dirs):
    app = ask(new_app(), "How many serious IP infringements close an account?")
    app.feedback[0].set_value(1).run()
    assert saved(app_dirs).feedback()[0].score == 1
    assert not [t for t in app.text_input if t.key.startswith("fbc-")]  # a thumbs-up asks nothing
    app.feedback[0].set_value(0).run()
    entries = saved(app_dirs).feedback()
    assert entries[0].score == -1 and "serious IP" in entries[0].question
    comment = next(t for t in app.text_input if t.key.startswith("fbc-"))
    comment.set_value("Should mention the 3-day window").run()
    assert saved(app_dirs).feedback()[0].comment == "Should mention the 3-day window"


def test_history_reopens_renames_and_exports(app_dirs):
    first = ask(new_app(), "What documents are needed to list trademarked products?")
    assert not first.exception
    app = new_app()
    assert not app.chat_message  # a new browser session starts empty: nothing leaks
    app.switch_page("views/history.py").run()
    choice = app.radio(key="history-choice")  # a list, not a dropdown
    label = next(label for label in choice.options if "trademarked" in label)
    assert "UTC" in label and "1 question" in label
    target = next(c.id for c in saved(app_dirs).list() if "trademarked" in c.first_question)
    choice.set_value(target).run()
    assert app.radio(key="history-choice").value == target
    app.text_input[0].set_value("Branded goods paperwork")
    next(b for b in app.button if b.label == "Save name").click().run()
    assert saved(app_dirs).get(target).title == "Branded goods paperwork"
    next(b for b in app.button if b.label == "Open in Ask").click().run()
    assert not app.exception, app.exception
    assert "registration certificate" in texts(app)
    assert "Branded goods paperwork" in saved(app_dirs).export_markdown(target)


def test_bad_upload_gives_a_clear_message_and_good_upload_is_indexed(app_dirs):
    app = new_app()
    app.switch_page("views/knowledge.py").run()
    before = len(list((app_dirs / "kb").rglob("*.*")))
    app.file_uploader[0].set_value(("broken.pdf", b"%PDF-1.4 garbage", "application/pdf")).run()
    next(b for b in app.button if b.label == "Add to knowledge base").click().run()
    assert not app.exception, app.exception
    assert any("cannot be used" in e.value and "corrupt" in e.value for e in app.error)
    assert len(list((app_dirs / "kb").rglob("*.*"))) == before  # nothing half-saved

    note = b"# Warehouse rule\n\nEvery parcel is weighed twice before the courier collects it.\n"
    app.file_uploader[0].set_value(("warehouse.md", note, "text/markdown")).run()
    next(b for b in app.button if b.label == "Add to knowledge base").click().run()
    assert any("Added warehouse.md" in s.value for s in app.success)
    assert (app_dirs / "kb" / "uploads" / "warehouse.md").is_file()
    answer = ask(
        new_app(), "How many times is every parcel weighed before the courier collects it?"
    )
    assert "weighed twice" in texts(answer)
    latest = saved(app_dirs).get(saved(app_dirs).list()[0].id)
    assert latest.messages[-1].answer["citations"][0]["source"] == "uploads/warehouse.md"


def test_short_inspection_to_the_report(app_dirs):
    app = new_app()
    app.switch_page("views/inspection.py").run()
    app.text_input[0].set_value("Test Shop")
    next(c for c in app.checkbox if "European Union" in c.label).check()
    next(b for b in app.button if b.label == "Start inspection").click().run()
    assert not app.exception, app.exception
    assert any("Account and store set-up" in s.value for s in app.subheader)
    radios = app.radio
    radios[0].set_value("no").run()  # the single-account question: critical
    for radio in app.radio[1:]:
        radio.set_value("yes").run()
    note = next(t for t in app.text_input if "Note" in t.label)  # a "no" asks for a note
    note.set_value("Second account belongs to a partner").run()
    next(b for b in app.button if b.label == "Next").click().run()
    assert any("Product listings" in s.value for s in app.subheader)
    next(b for b in app.button if b.label == "Finish now and see report").click().run()
    assert not app.exception, app.exception
    assert not any(m.label == "Overall score" for m in app.metric)  # it asks first
    assert any("unanswered" in w.value for w in app.warning)
    next(b for b in app.button if b.label == "Yes, finish now").click().run()
    assert not app.exception, app.exception
    shown = texts(app)
    assert any("from 5 of" in w.value and "answers: partial" in w.value for w in app.warning)
    assert "Your note:** Second account belongs to a partner" in shown
    assert "Do you sell through a single AliExpress seller account" in shown
    assert "only one AliExpress account" in shown  # the cited rule
    assert any(m.label == "Overall score" for m in app.metric)


def test_draft_a_buyer_reply_and_an_appeal(app_dirs):
    app = new_app()
    app.switch_page("views/draft.py").run()
    app.text_input[0].set_value("8123456789")  # order number
    app.text_input[1].set_value("LP00123456789CN")  # tracking number
    next(b for b in app.button if b.label == "Draft the message").click().run()
    assert not app.exception, app.exception
    draft = app.text_area(key="draft_text").value
    assert "8123456789" in draft and "LP00123456789CN" in draft and "{" not in draft
    assert any("Evidence to attach" in s.value for s in app.subheader)

    app.segmented_control(key="draft-group").set_value("AliExpress (appeal)").run()
    app.selectbox(key="draft-type").set_value("appeal-dispute-ruling").run()
    next(t for t in app.text_area if "Evidence" in t.label).set_value("Tracking history\nPhotos")
    next(b for b in app.button if b.label == "Draft the message").click().run()
    appeal = app.text_area(key="draft_text").value
    assert appeal.startswith("Dear AliExpress review team")
    assert "Tracking history; Photos" in appeal
    saved_drafts = Database(app_dirs / "data" / "app.sqlite").fetch_all("SELECT * FROM drafts")
    assert [d["case_type"] for d in saved_drafts][-2:] == [
        "inr-in-transit",
        "appeal-dispute-ruling",
    ]
