"""The app on a damaged database file: every page says which file and what to do, asking and
drafting keep working, and the seller's one click keeps the damaged file and starts afresh."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import KNOWLEDGE, REPO, app_environment

MAIN = str(REPO / "app" / "ui" / "main.py")
GARBAGE = b"this is not a database " * 200
PAGES = ["views/history.py", "views/knowledge.py", "views/inspection.py", "views/draft.py"]


@pytest.fixture(scope="module")
def damaged(tmp_path_factory, kb_settings, assistant):
    base = tmp_path_factory.mktemp("damaged-db")
    shutil.copytree(KNOWLEDGE, base / "kb")
    shutil.copytree(kb_settings.data_dir, base / "data", ignore=shutil.ignore_patterns("app.*"))
    (base / "data" / "app.sqlite").write_bytes(GARBAGE)
    with app_environment(base):
        yield base / "data"


def errors(app: AppTest) -> str:
    return "\n".join(e.value for e in app.error)


def test_every_page_names_the_damaged_file_and_asking_still_works(damaged):
    app = AppTest.from_file(MAIN, default_timeout=180)
    app.run()
    assert not app.exception, app.exception
    assert f"{damaged / 'app.sqlite'} is damaged" in errors(app)
    app.chat_input[0].set_value("How long do I have to respond to a refund request?").run()
    assert not app.exception, app.exception
    assert "5 days" in "\n".join(m.value for m in app.markdown)
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
        assert "is damaged" in errors(app), page
    assert (damaged / "app.sqlite").read_bytes() == GARBAGE  # untouched until the seller says

    next(b for b in app.button if b.label.startswith("Keep the damaged file aside")).click().run()
    assert not app.exception, app.exception
    kept = list(damaged.glob("app.sqlite.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == GARBAGE
    app.switch_page("views/ask.py").run()
    assert "is damaged" not in errors(app)
