"""Bridges from sellers' words and languages to the rulebook: glossaries, the calibrated refusal,
leading with the answer, and questions in seven languages, on the real shipped knowledge base."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from app.components.glossary import Glossaries, GlossaryError, load_glossaries, load_glossary
from app.components.language import detect, key_point_line, translate
from app.components.refusal import FEATURES, RefusalModelError, load_refusal_model
from app.components.retrieval import (
    _POINTER,
    asking_part,
    asks_for_amount,
    asks_for_duration,
    asks_for_figure,
    asks_for_share,
    states_duration,
    states_figure,
)
from app.components.text import OTHER_MARKETPLACE, marketplaces_asked, terms
from app.services.calibration import LENGTH_FLOORS, fit
from app.services.evaluation import document_reader
from ingest.pipeline import run_ingest
from tests.conftest import KNOWLEDGE, REPO, write

GLOSSARIES = KNOWLEDGE / "glossary"
LANGUAGES = ("zh", "es", "ru", "pt", "fr", "tr", "ko")


def test_every_glossary_loads_and_is_large_enough():
    glossaries = load_glossaries(GLOSSARIES)
    assert set(LANGUAGES) | {"en"} == set(glossaries)
    for code in LANGUAGES:
        data = glossaries[code].data
        assert len(data.entries) >= 250, code
        assert data.notice and data.refusal and data.key_point and data.units.get("days"), code
        assert data.figure_not_given, code


def test_every_rule_term_is_worded_as_the_rulebook_words_it():
    """A bridge to words the rulebook never uses reaches nothing: each glossary's rule terms
    are checked against the words of `knowledge/`, so an edited rule sentence that drops a
    term shows up here rather than as a quietly weaker search."""
    rulebook = {t for path in KNOWLEDGE.glob("*.md") for t in terms(path.read_text("utf-8"))}
    for code, glossary in load_glossaries(GLOSSARIES).items():
        stale = [e.en for e in glossary.data.entries if not set(terms(e.en)) <= rulebook]
        assert not stale, f"{code}: {stale}"


@pytest.mark.parametrize(
    ("language", "question", "kept"),
    [
        ("es", "¿Cuántos puntos te quitan?", {"how many", "points"}),  # "puntos" inside
        ("zh", "最低金额是多少", {"minimum", "amount"}),  # 金额 inside 最低金额
    ],
)
def test_a_longer_phrase_keeps_the_rule_terms_of_the_phrases_inside_it(language, question, kept):
    glossary = load_glossaries(GLOSSARIES)[language]
    assert kept <= {en for _, en in glossary.phrases_in(question)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("language: zh\nentries:\n  - terms: [退款]\n", "en"),
        ("language: zh\nentries:\n  - {en: refund, terms: []}\n", "terms"),
        ("language: zh\nentries:\n  - {en: a, terms: [x]}\n  - {en: A, terms: [y]}\n", "twice"),
        ("language: chinese\nentries:\n  - {en: a, terms: [x]}\n", "language"),
    ],
)
def test_a_broken_glossary_is_named(tmp_path, text, message):
    path = write(tmp_path / "zh.yaml", text)
    with pytest.raises(GlossaryError, match=message) as caught:
        load_glossary(path)
    assert str(path) in str(caught.value)


def test_each_glossary_is_read_when_its_language_is_first_needed(tmp_path):
    """An English question never parses the other languages' files; a broken one is still
    named, when its language is first needed or when all are loaded."""
    folder = tmp_path / "glossary"
    for code in ("en", "zh"):
        write(folder / f"{code}.yaml", (GLOSSARIES / f"{code}.yaml").read_text(encoding="utf-8"))
    write(folder / "es.yaml", "language: es\nentries: []\n")
    glossaries = Glossaries(folder)
    assert list(glossaries) == ["en", "es", "zh"]
    assert glossaries["zh"].language == "zh" and glossaries["en"].language == "en"
    with pytest.raises(GlossaryError, match=r"es\.yaml"):
        glossaries.get("es")
    with pytest.raises(GlossaryError, match=r"es\.yaml"):
        load_glossaries(folder)


@pytest.mark.parametrize(
    ("question", "source"),
    [
        ("Can my cousin place a few orders to get my new shop off the ground?", "transactions"),
        ("I got hit with a strike for selling knock-offs. How long does it last?", "intellectual"),
        ("We sell teethers and pacifiers. Can we still offer them to French customers?", "prohib"),
        ("how long do penalty points stay on my account before they drop off?", "penalty"),
        ("is a title like 'mp3, mp3 player, music mp3 player' ok for SEO?", "listing"),
    ],
)
def test_sellers_words_reach_the_rule(assistant, question, source):
    answer = assistant.ask(question)
    assert not answer.refused, answer.text
    assert any(c.source.startswith(source) for c in answer.citations), answer.citations


def test_a_complaint_from_a_brand_reaches_the_ip_rules(assistant):
    """ "Counterfeit complaint from a brand" bridged to "counterfeit" alone, and the answer led
    with the goods-not-as-described rule; the IP ladder for serious cases now leads."""
    question = (
        "Got my first serious counterfeit complaint from a brand. What happens to my store "
        "for the first one, and is it true three of them close it?"
    )
    assert "intellectual property" in assistant.retrieval.bridge(question).rule_text
    answer = assistant.ask(question)
    assert answer.citations[0].source == "intellectual-property.md", answer.text
    assert "1-day store freeze" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "Is there a deadline to report abusive feedback?",
        "What is the time limit to appeal a penalty?",
    ],
)
def test_the_words_that_ask_for_a_figure_are_not_what_it_is_about(container, question):
    """ "Is there a deadline" asks for a duration; the sentence stating it ("within 30 days")
    need not say "deadline" too. Counted as a topic word, it made covered questions look like
    asking a figure the best sentences lack (0.23 and 0.43 before)."""
    container.retrieval.refresh()
    assert container.retrieval.find(question, 8).signals.figure_focus == 0.0


@pytest.mark.parametrize(
    ("question", "date"),
    [
        ("Desde quando a taxa das blusinhas é cobrada nas compras de fora?", "1 August 2024"),
        ("À partir de quand les règles GPSR s'appliquent-elles ?", "13 December 2024"),
        ("¿Desde cuándo se aplica el GPSR en la UE?", "13 December 2024"),
    ],
)
def test_since_when_asks_for_a_date_not_a_length_of_time(assistant, question, date):
    """ "Desde quando", "à partir de quand" and "desde cuándo" were bridged to "how long", so
    the date that answers them read as no answer to a duration question and was refused."""
    assert "how long" not in assistant.english_terms(question)
    answer = assistant.ask(question)
    assert not answer.refused, answer.text
    assert date in answer.text


def test_the_glossary_is_what_reaches_it(container):
    question = "Can my cousin place a few orders to get my new shop off the ground?"
    bridge = container.retrieval.bridge(question)
    assert "fake orders" in bridge.rule_text
    assert {"fake", "order"} <= bridge.groups["cousin"]


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("How long do penalty points last?", "365 days"),
        ("How long do I have to respond to a refund request?", "5 days"),
    ],
)
def test_the_answer_leads_with_the_asked_fact(assistant, question, fact):
    answer = assistant.ask(question)
    first = re.split(r"\[\d+\]", answer.text)[0]
    assert fact in first, answer.text


def test_each_part_of_a_question_gets_a_sentence_of_the_kind_it_asks(assistant):
    """ "What can I do, and is there a deadline?": the deadline part was left to the sentences
    picked for the first part, none of which gave the 30-day reporting window."""
    question = (
        "A 1-star review just popped up on an order I'm pretty sure was placed by a "
        "competitor. The text isn't even about the product. I can't delete it myself. What "
        "can I do, and is there a deadline?"
    )
    answer = assistant.ask(question)
    assert "reported within 30 days" in answer.text, answer.text


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("卖家需要在几天内处理买家的退款申请？", "zh"),
        ("¿Cuántos días tengo para responder a una solicitud de reembolso?", "es"),
        ("Сколько дней у продавца, чтобы ответить на запрос на возврат средств?", "ru"),
        ("Quantos dias tenho para responder a um pedido de reembolso?", "pt"),
        ("Combien de jours ai-je pour répondre à une demande de remboursement ?", "fr"),
        ("İade talebine kaç gün içinde yanıt vermeliyim?", "tr"),
        ("환불 요청에 며칠 안에 답해야 하나요?", "ko"),
    ],
)
def test_a_question_in_another_language_is_answered_from_the_english_rules(
    assistant, question, language
):
    answer = assistant.ask(question)
    assert answer.language == language
    assert not answer.refused, answer.text
    assert "5 days" in answer.text and answer.citations
    first_line = answer.text.splitlines()[0]
    marker = re.search(r"\[(\d+)\]$", first_line)  # the key point, cited...
    assert marker and re.search(r"\d", first_line[: marker.start()]), first_line
    cited = next(c for c in answer.citations if c.n == int(marker.group(1)))
    figure = re.search(r"\d+", first_line).group()
    assert figure in cited.quote  # ...and its figure is the cited sentence's, not invented
    assert not re.search(r"\b(days|refund|request)\b", first_line)  # in the seller's language
    reader = document_reader(assistant.retrieval.store)
    assert all(c.quote in reader(c.source) for c in answer.citations)


def test_sellers_questions_still_weigh_as_evidence_for_another_language(assistant):
    """They never rank a bag of bridged rule terms, but how close the nearest one is still
    tells the refusal decision what an English question's signal tells it."""
    found = assistant.retrieval.find("weapons ammunition sell", 8, translated=True)
    assert any(p.asked > 0 for p in found.passages)
    assert found.signals.best_ask >= max(p.dense for p in found.passages)


def test_a_short_english_question_taken_for_another_language_is_read_as_english(assistant):
    """ "eu discount prior price rule?" reads as French to the language identifier ("eu",
    "prior"), where no French rule word was found and the question was refused; every word of
    it is the rulebook's own, so it is English. "GPSR application date?" read as French too,
    where the French glossary matched "gpsr" as itself: still no French in it. A Spanish
    question stays Spanish."""
    answer = assistant.ask("eu discount prior price rule?")
    assert answer.language == "en"
    assert not answer.refused, answer.text
    assert "30 days" in answer.text
    answer = assistant.ask("GPSR application date?")
    assert answer.language == "en"
    assert "13 December 2024" in answer.text
    assert assistant.ask("¿Cuánto cobran por retirar dólares?").language == "es"


def test_other_languages_are_never_spell_corrected_into_english(assistant):
    answer = assistant.ask("¿Cuánto tiempo tengo para responder a una disputa?")
    assert answer.language == "es"
    assert "para respond" not in answer.standalone_question
    assert "para" not in answer.standalone_question  # Spanish words are not kept or "fixed"
    assert "respon" in answer.standalone_question  # the glossary's rule term (respond/response)


def test_an_ordinal_reaches_the_rules_word_and_a_bare_number_bridges_nothing():
    """ "what happens if theres a 3rd??" held no term of "closure for the third" (the
    ordinal mapped to "3" alone) and was refused; "8 pieces instead of 10" is the seller's
    count, which bridged to the rule number "10" that "10th" maps to and pulled the lexical
    search towards any "10"."""
    en = load_glossaries(GLOSSARIES)["en"]
    assert {"3", "third"} <= en.bridge("what if theres a 3rd strike").groups["3rd"]
    assert not en.bridge("he got 8 pieces instead of 10").matched


def test_figures_and_amounts_carry_over():
    zh = load_glossaries(GLOSSARIES)["zh"]
    english = translate("IOSS 的限额是多少？150 欧元以上的包裹怎么办？", zh).english
    assert "EUR 150" in english and "ioss" in english.lower()
    counts = translate("严重侵权三次会怎样？退款要在十五天内处理吗？两次呢？", zh).english.split()
    assert {"3", "15", "2"} <= set(counts)  # Chinese numerals before a measure word
    # ...but only beside a rule word: an acronym of the rulebook is one, a count is not
    assert "IOSS" in translate("IOSS是什么？", zh).english.upper()
    es = load_glossaries(GLOSSARIES)["es"]
    assert translate("¿Me das una receta de tortilla para 4 personas?", es).english == ""
    # a country places a rule but is none: alone it makes no rule question
    assert translate("¿Cuál es la capital de Francia?", es).english == ""
    assert "france" in translate("¿Cuánto IVA pago si vendo a Francia?", es).english
    line = key_point_line(zh, "A seller has 5 days to accept or reject a refund request.", 1)
    assert line.startswith(zh.data.key_point) and "5天" in line and line.endswith("[1]")
    es = load_glossaries(GLOSSARIES)["es"]
    line = key_point_line(es, "Orders up to EUR 150 pay import VAT at checkout within 3 days.", 2)
    assert "EUR 150" in line and "3 días" not in line  # the first figure, as the rule writes it
    line = key_point_line(es, "A store needs 90% positive feedback for 30 days.", 1)
    assert line.startswith("Punto clave: 90% ·") and "días" not in line


@pytest.mark.parametrize(
    ("language", "question", "kept", "dropped"),
    [
        ("pt", "Como funcionam os pontos de penalidade da Shopee?", ["Shopee"], ["Como"]),
        ("es", "En Mercado Libre, ¿qué pasa si baja mi reputación?", ["Mercado", "Libre"], ["En"]),
        ("tr", "Shopee'de ceza puanı nasıl işliyor?", ["Shopee"], []),  # suffix after '
        ("ru", "Какие доказательства нужны для апелляции по 72-hour online rate?", ["online"], []),
        ("tr", "Python'da bir listeyi nasıl tersine çeviririm?", [], ["Python"]),  # no rule word
        ("zh", "我在Shopee也开店了，可以吗？", ["Shopee"], []),
        # bridged already: a country, and an acronym the glossary turns into the rule term
        ("es", "Vendo desde España, ¿cuánto IVA pago?", ["vat"], ["España", "IVA"]),
        ("es", "¿Qué precio anterior muestro a compradores de la UE?", ["eu"], ["UE"]),
    ],
)
def test_names_and_english_words_carry_over_as_written(language, question, kept, dropped):
    """A platform the rulebook never names must weigh against the evidence in any language;
    a name with no rule word beside it makes no rule question."""
    english = translate(question, load_glossaries(GLOSSARIES)[language]).english.split()
    assert set(kept) <= set(english) and not set(dropped) & set(english), english


@pytest.mark.parametrize(
    ("language", "question", "term"),
    [
        ("es", "Tengo tres reclamaciones abiertas", "dispute"),  # plural of "reclamación"
        ("es", "¿Cuantas devoluciones se permiten?", "return"),  # typed without accents
        ("pt", "Minhas devolucoes foram recusadas", "return"),  # -ções without its accents
        ("fr", "Mes remboursements sont bloqués", "refund"),
        ("ru", "Что грозит за накрутку продаж?", "faked sales"),  # both words inflected
        ("tr", "iade talebini gormezden gelirsem", "does nothing"),  # no Turkish letters
        ("tr", "Talebine ne zaman bakılır", "claim"),  # talep -> talebi-ne
        ("tr", "Alıcıya cevap vermem gerekiyor mu", "respond"),  # cevap vermek, conjugated
        ("tr", "Mağazanın hizmet puanı düştü", "store service score"),  # an inner word suffixed
    ],
)
def test_glossary_phrases_match_inflected_and_unaccented(language, question, term):
    matched = load_glossaries(GLOSSARIES)[language].phrases_in(question)
    assert term in [en for _, en in matched], matched


@pytest.mark.parametrize(
    ("language", "question", "term"),
    [
        ("tr", "Alıcı siparişi iptal etti", "intellectual property"),  # "ip" is not "iptal"
        ("fr", "Qu'est-ce qui compte comme non-vente ?", "commission"),  # comme ~ comm-issions
        ("es", "¿En qué plazo puedo apelar?", "plaza"),  # plazo and plaza share a stem
    ],
)
def test_glossary_phrases_do_not_match_lookalike_words(language, question, term):
    matched = load_glossaries(GLOSSARIES)[language].phrases_in(question)
    assert matched and term not in [en for _, en in matched], matched


def test_language_detection_on_short_questions():
    languages = ("en", *LANGUAGES)
    assert detect("What is IOSS?", languages) == "en"
    assert detect("can i sell knock-offs", languages) == "en"
    assert detect("纠纷几天？", languages) == "zh"
    assert detect("분쟁 기한은?", languages) == "ko"
    assert detect("Срок ответа на спор?", languages) == "ru"


def test_the_language_model_is_unpacked_once_and_read_back_the_same(tmp_path, monkeypatch):
    """The restricted language model is kept unpacked in the user cache; read back it names
    every language as the packed one does, and a damaged copy is replaced, never used."""
    from py3langid.langid import LanguageIdentifier

    from app.components import language

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    languages = tuple(sorted(("en", *LANGUAGES)))
    texts = [
        "How long do I have to answer a refund request?",
        "¿Cuántos días tengo para responder a un reembolso?",
        "Quanto tempo tenho para responder a um pedido de reembolso?",
        "Combien de jours pour répondre à une demande de remboursement ?",
        "İade talebine kaç gün içinde cevap vermeliyim?",
        "Срок ответа на спор?",
        "hola",
        "12345",
        "",
    ]
    language._identifier.cache_clear()
    try:
        packed = [language._identifier(languages).classify(t) for t in texts]
        [folder] = (tmp_path / "seller-compliance-assistant" / "langid").iterdir()
        with monkeypatch.context() as patched:  # read back, not unpacked again
            patched.setattr(LanguageIdentifier, "from_model_file", None)
            language._identifier.cache_clear()
            assert [language._identifier(languages).classify(t) for t in texts] == packed
        for damaged in folder.iterdir():
            damaged.write_bytes(b"not a model")
        language._identifier.cache_clear()
        assert [language._identifier(languages).classify(t) for t in texts] == packed
        language._identifier.cache_clear()
        with monkeypatch.context() as patched:  # the damaged copy was replaced
            patched.setattr(LanguageIdentifier, "from_model_file", None)
            assert [language._identifier(languages).classify(t) for t in texts] == packed
    finally:
        language._identifier.cache_clear()  # other tests use the real cache


def test_a_refused_question_is_explained_in_the_sellers_language(assistant):
    answer = assistant.ask("¿Quién ganó el mundial de fútbol de 2018?")
    spanish = load_glossaries(GLOSSARIES)["es"].data.refusal
    assert answer.refused and answer.text.startswith(spanish)


def test_a_figure_the_rulebook_lacks_is_explained_as_such_in_the_sellers_language(assistant):
    """The rulebook has the annual fee but gives no amount: the Spanish line says so (the topic
    is there, the figure is not), not that the question is not covered."""
    spanish = load_glossaries(GLOSSARIES)["es"].data
    answer = assistant.ask("¿Cuánto es la tarifa anual para la categoría de joyería?")
    assert answer.refused
    assert answer.text.startswith(spanish.figure_not_given), answer.text
    assert spanish.refusal not in answer.text
    assert "annual fee" in answer.text


# -- the calibrated refusal ------------------------------------------------------------------


def test_the_shipped_refusal_model_matches_the_signals_and_decides(assistant):
    model = load_refusal_model(REPO / "eval" / "refusal-model.json")
    assert model is not None and model.features == FEATURES
    assert 0 < model.threshold <= model.caution_below < 1
    retrieval = assistant.retrieval
    retrieval.refresh()
    strong = retrieval.find("How many days do I have to respond to a refund request?", 8).signals
    weak = retrieval.find("What is the capital of France?", 8).signals
    assert model.probability(strong) > model.threshold > model.probability(weak)
    assert assistant.refusal is not None  # the container loaded it for the default engine


def test_a_signal_past_the_range_calibration_saw_counts_as_its_edge(assistant):
    """figure_elsewhere reaches 1.0 on a handful of dev questions: the shipped model reads any
    value past its fitted range as the edge of it instead of extrapolating the line."""
    from dataclasses import replace

    model = load_refusal_model(REPO / "eval" / "refusal-model.json")
    assert model.low is not None and model.high is not None
    edge = model.high[FEATURES.index("figure_elsewhere")]
    assert 0 < edge < 1.0
    signals = assistant.retrieval.find("How long do penalty points last?", 8).signals
    at_edge = model.probability(replace(signals, figure_elsewhere=edge))
    assert model.probability(replace(signals, figure_elsewhere=1.0)) == at_edge
    assert model.probability(replace(signals, figure_elsewhere=0.0)) > at_edge


def test_a_question_far_from_every_section_is_refused_whatever_its_signals_add_up_to(
    assistant,
):
    """The shipped model's floor is the least similar any covered dev question's closest
    section was; below it the probability is 0, so small talk is never answered."""
    from dataclasses import replace

    model = load_refusal_model(REPO / "eval" / "refusal-model.json")
    assert model.nearest_floor is not None and 0.2 < model.nearest_floor < 0.6
    signals = assistant.retrieval.find("How long do penalty points last?", 8).signals
    assert model.probability(replace(signals, best_ask=model.nearest_floor)) > 0
    assert model.probability(replace(signals, best_ask=model.nearest_floor - 0.01)) == 0.0
    answer = assistant.ask("Which film should we watch tonight, a comedy maybe?")
    assert answer.refused and answer.confidence == 0.0, answer.text


def test_a_bridged_question_whose_words_the_glossary_mostly_misses_is_refused(assistant):
    """A request in Chinese for a poem bridges one word or two: the rule terms found are not
    what it asks. Past the largest unbridged share any covered dev question answered with,
    the probability is 0."""
    from dataclasses import replace

    model = load_refusal_model(REPO / "eval" / "refusal-model.json")
    assert model.unbridged_ceiling is not None and 0.5 < model.unbridged_ceiling < 1.0
    signals = replace(
        assistant.retrieval.find("How long do penalty points last?", 8).signals, translated=1.0
    )
    assert model.probability(replace(signals, unbridged=model.unbridged_ceiling)) > 0
    assert model.probability(replace(signals, unbridged=model.unbridged_ceiling + 0.01)) == 0.0
    assert assistant.ask("帮我写一首关于秋天的七言绝句，要押韵").refused


def test_a_short_english_question_counts_as_long_as_the_floor(assistant):
    """Below the fitted floor an English question's length no longer counts against it: a
    plain short question is answered; a bridged question's length is read as it is."""
    from dataclasses import replace

    model = load_refusal_model(REPO / "eval" / "refusal-model.json")
    assert model.english_length_floor in (0, 6, 8, 10)
    if model.english_length_floor:
        signals = assistant.retrieval.find("What's the IOSS value cap?", 8).signals
        short = replace(signals, length=math.log1p(2))
        assert model.probability(short) == model.probability(
            replace(signals, length=math.log1p(model.english_length_floor))
        )
        bridged = replace(short, translated=1.0)
        assert model.probability(bridged) < model.probability(replace(bridged, length=3.0))
    answer = assistant.ask("What's the IOSS value cap?")
    assert not answer.refused and "150" in answer.text, answer.text


def test_a_broken_or_stale_refusal_model_is_named(tmp_path):
    path = write(tmp_path / "model.json", "{not json")
    with pytest.raises(RefusalModelError, match="Cannot read"):
        load_refusal_model(path)
    stale = json.loads((REPO / "eval" / "refusal-model.json").read_text())
    stale["features"] = stale["features"][:-1]
    path.write_text(json.dumps(stale))
    with pytest.raises(RefusalModelError, match="calibrate"):
        load_refusal_model(path)


def test_calibration_keeps_false_refusals_under_the_cap():
    import random

    rng = random.Random(1)
    rows, labels = [], []
    for _ in range(120):
        covered = rng.random() < 0.7
        base = 0.65 if covered else 0.45
        rows.append([base + rng.gauss(0, 0.08)] + [rng.random() for _ in FEATURES[1:]])
        labels.append(int(covered))
    report = fit(rows, labels, max_false_refusals=0.1)
    assert report.cv_false_refusals <= 0.1
    assert report.model.english_length_floor in LENGTH_FLOORS
    # rounded down, so that the covered question holding the least similarity stays answered
    least = min(
        r[FEATURES.index("best_ask")] for r, label in zip(rows, labels, strict=True) if label
    )
    assert least - 1e-4 < report.model.nearest_floor <= least
    assert report.cv_auc > 0.8
    low, high = ([base] + [0.5] * (len(FEATURES) - 1) for base in (0.45, 0.7))
    probability = report.model.probability
    assert probability(_signals(high)) > probability(_signals(low))  # similarity raises p


def _signals(row: list[float]):
    from app.components.retrieval import Signals

    return Signals(**dict(zip(FEATURES, row, strict=True)))


def test_the_trees_see_a_signal_that_counts_only_with_another():
    """Covered when a section was written for the question (`best_ask`) or its best sentence
    states the asked figure, not when both fail: averaged with boosted trees, the refusal model
    separates that better than its logistic regression alone, and the stored trees answer as
    scikit-learn's own model does."""
    import random

    import numpy as np
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from app.components.refusal import RefusalModel
    from app.services.calibration import _stored_trees

    rng = random.Random(4)
    ask, missing = FEATURES.index("best_ask"), FEATURES.index("figure_missing")
    rows, labels = [], []
    for _ in range(500):
        row = [rng.random() for _ in FEATURES]
        row[FEATURES.index("translated")] = 0.0
        rows.append(row)
        labels.append(int(row[ask] > 0.5 or row[missing] < 0.3))
    x, y = np.asarray(rows), np.asarray(labels)
    report = fit(rows, labels, repeats=2)
    regression_alone = cross_val_score(LogisticRegression(), x, y, scoring="roc_auc").mean()
    assert report.model.trees and "boosted trees" in report.model.fitted_on
    assert report.cv_auc > regression_alone + 0.02

    forest = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(x, y)
    size = len(FEATURES)
    # a regression that always says 0.5, so the average shows the trees' own probability
    model = RefusalModel(
        FEATURES,
        [0.0] * size,
        [1.0] * size,
        [0.0] * size,
        0.0,
        0.5,
        0.5,
        **_stored_trees(forest, size),
    )
    got = [2 * model.probability(_signals(row)) - 0.5 for row in rows]
    assert np.allclose(got, forest.predict_proba(x)[:, 1], atol=1e-9)
    # given as floats, the node indices are kept as whole numbers (and stored so)
    assert all(isinstance(v, int) for tree in model.trees for v in tree[0] + tree[2] + tree[3])


def test_each_language_group_gets_the_false_refusal_cap():
    """A dev split with more uncovered questions in other languages than in English teaches
    the model that a translated question is less often covered; one threshold would then
    withhold answers from those sellers more often. Each group meets the cap at its own."""
    import random

    from app.components.retrieval import Signals

    rng = random.Random(2)
    at = FEATURES.index("translated")
    rows, labels = [], []
    for i in range(400):
        translated = i % 2
        covered = rng.random() < (0.45 if translated else 0.8)
        row = [0.0] * len(FEATURES)
        row[0] = (0.6 if covered else 0.45) + rng.gauss(0, 0.07)
        row[at] = float(translated)
        rows.append(row)
        labels.append(int(covered))
    model = fit(rows, labels, max_false_refusals=0.075).model
    assert model.translated_threshold is not None
    assert model.translated_threshold < model.threshold
    assert model.threshold_for(Signals(translated=1.0)) == model.translated_threshold
    assert model.threshold_for(Signals()) == model.threshold


def test_the_other_language_threshold_is_read_off_questions_held_from_the_glossaries():
    """Questions whose failures widened a glossary look better bridged than a new seller's:
    the cap is met on those held from that work, so a new seller is not refused more often."""
    import random

    rng = random.Random(3)
    at = FEATURES.index("translated")
    rows, labels, held = [], [], []
    for i in range(600):
        translated, kept_out = i % 2, i % 4 == 1
        covered = rng.random() < 0.7
        # on the fitted questions a covered one scores as well as in English; held ones lower
        shift = -0.06 if kept_out and covered else 0.0
        row = [0.0] * len(FEATURES)
        row[0] = (0.6 if covered else 0.45) + shift + rng.gauss(0, 0.05)
        row[at] = float(translated)
        rows.append(row)
        labels.append(int(covered))
        held.append(bool(kept_out))
    without = fit(rows, labels, max_false_refusals=0.075).model
    with_held = fit(rows, labels, max_false_refusals=0.075, held=held).model
    assert with_held.translated_threshold < without.translated_threshold
    assert "held from the glossaries" in with_held.fitted_on
    assert with_held.threshold == without.threshold  # English keeps its own


def test_eval_reports_splits_with_intervals(tmp_path, assistant):
    from app.services.evaluation import evaluate, load_questions

    every = load_questions(Path(REPO / "eval" / "questions.yaml"))
    some_test = [i for i in every if i.split == "test" and i.id.startswith("e1")][:8]
    items = [i for i in every if i.id in {"d01", "u08", "e001", "zh01", "zh02"}] + some_test
    report = evaluate(assistant, items, document_reader(assistant.retrieval.store))
    assert set(report.splits) == {"dev", "test"}
    for split in report.splits.values():
        low, high = split.intervals["key_fact_accuracy"]
        assert 0 <= low <= split.overall.key_fact_accuracy <= high <= 1
    languages = {lang for split in report.splits.values() for lang in split.by_language}
    assert {"en", "zh"} <= languages


def test_evidence_signals_see_names_phrases_and_sums_the_best_sentences_lack(container):
    """A question about a neighbouring case (another country, a sum the rules never give)
    finds the same words as a covered one; these signals are how the refusal tells them apart."""
    retrieval = container.retrieval
    retrieval.refresh()

    def signals(question: str):
        return retrieval.find(question, 8).signals

    covered = signals("How many days does a seller have to respond to a refund request?")
    assert covered.phrase_terms > 0 and covered.names_missing == 0.0
    assert covered.amount_missing == 0.0 and covered.top_sentences > 0.4
    elsewhere = signals("What refund deadline does Zalando give sellers in Liechtenstein?")
    assert elsewhere.names_missing == 1.0
    unpriced = signals("How much does it cost to respond to a refund request?")
    assert unpriced.amount_missing == 1.0
    # "I'd", "I've" and "OK" are capitalised but name nothing
    plain = signals("The buyer picked express but I'd rather ship standard. Is that OK?")
    assert plain.names_missing == 0.0
    # a common word in capitals is emphasis, an acronym the rulebook lacks is a name
    shouted = signals("we agreed a return and he STILL hasn't sent it back. do I get the money")
    assert shouted.names_missing == 0.0
    assert signals("Does my power bank need a UKCA mark to sell?").names_missing == 1.0
    # a month dates the rule (the rulebook writes 2021-12-31); it names no place or programme
    dated = "Which sellers do the AliExpress Seller Rules updated on 31 December 2021 apply to?"
    assert signals(dated).names_missing == 0.0
    # so does a sale day, in capitals or as a bridged question's lower-case rule terms
    for when in ("Black Friday", "Double 11", "double 11"):
        sale = f"For my {when} discount to EU buyers, which earlier price must I show?"
        assert signals(sale).names_missing == 0.0, when
    # where the seller ships from is context; a place the rule is asked for is not
    origin = "moving my dollars out to my HK bank account, how much is the withdrawal fee?"
    assert signals(origin).names_missing == 0.0
    assert signals("Who is our responsible person for sales to Japan?").names_missing == 1.0
    # the rulebook capitalises "Team" only inside "Case Management Team": in lower case it is
    # an everyday word, no name
    team = "our customer-service team asks: who can remove a one-star review?"
    assert signals(team).names_missing == 0.0
    # a file type is no programme; "RP" is the responsible person the glossary bridges to
    assert signals("Can I put the EU safety details in a PDF and link it?").names_missing == 0.0
    assert signals("Can our distributor in the EU be our RP for GPSR?").names_missing == 0.0
    # another marketplace's rule, typed in lower case and close to a covered one in words
    assert signals("on shopee how many penalty points do i get if i ship late?").other_platform
    assert not OTHER_MARKETPLACE.search("Где лучше шопинг?")  # shopping, not Shopee
    assert covered.other_platform == 0.0


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Coming over from Etsy: how many products can I list on the basic plan?", False),
        ("Unlike eBay, does AliExpress let me delete a bad review myself?", False),
        ("eBay pings me at once. On AliExpress, how long do I get to answer a dispute?", False),
        ("I also sell on Temu. How many days do I get there to ship an order?", True),
        ("Does Temu freeze a shop at 12 penalty points, the same as AliExpress?", True),
        ("what's the late shipment rate limit on shopee? trying to compare it with ali", True),
    ],
)
def test_another_marketplace_counts_only_where_the_question_asks_about_it(question, asked):
    """Sellers who come from other platforms tell that story; only a question about the other
    platform's own rule is one this rulebook was not written for."""
    assert bool(marketplaces_asked(question)) is asked


def test_a_seller_comparing_with_another_marketplace_gets_the_aliexpress_rule(assistant):
    story = (
        "On Etsy a brand complaint just pulled the listing and that was it. How many serious "
        "IP infringements before my AliExpress account gets closed?"
    )
    answer = assistant.ask(story)
    assert not answer.refused
    assert re.search(r"\b(3|three)\b", answer.text)
    other = assistant.ask("I also sell on Temu. How many days do they give me to ship there?")
    # the refusal says why: the question is about the other platform's own rules
    assert other.refused and "Temu's own rules" in other.text and other.passages


@pytest.mark.parametrize(
    ("language", "question", "name"),
    [
        # an acronym touching Chinese or Korean letters has no word boundary, yet is a name
        ("zh", "发美国的蓝牙耳机是不是必须做FCC认证？", "FCC"),
        ("ko", "블루투스 이어폰 KC인증 꼭 받아야 하나요?", "KC"),
        # another marketplace as its sellers write it, carried by the name the rulebook uses
        ("ko", "쇼피에서 지연 발송하면 벌점 몇 점이에요?", "shopee"),
        ("zh", "虾皮上延迟发货扣几分？", "shopee"),
        ("ru", "На Мегамаркете какой штраф за отмену заказа?", "megamarket"),
    ],
)
def test_a_name_the_rulebook_lacks_is_carried_into_the_bridged_question(
    language, question, name, assistant
):
    """Bridged to rule terms alone, these read as covered questions (certification, late
    shipping points); the name kept in the bag is what tells the refusal they are not."""
    english = translate(question, load_glossaries(GLOSSARIES)[language]).english
    assert name in english
    assert assistant.ask(question).refused


@pytest.mark.parametrize(
    ("language", "question", "country"),
    [
        ("ru", "Какой беспошлинный лимит для посылок в Узбекистан?", "uzbekistan"),
        ("tr", "Türkiye'ye giden paketlerde gümrük muafiyet limiti kaç euro?", "turkey"),
        ("pt", "Qual é o limite de isenção para encomendas enviadas à Colômbia?", "colombia"),
        ("zh", "发往泰国的包裹免税额度是多少？", "thailand"),
        ("ko", "베트남으로 보내는 소포 면세 한도가 얼마예요?", "vietnam"),
        (
            "fr",
            "Quel est le seuil d'exonération des droits pour les colis vers la Norvège ?",
            "norway",
        ),
    ],
)
def test_a_country_the_glossary_never_listed_is_carried_by_its_cldr_name(
    language, question, country, assistant
):
    """Without the country the bridged bag is the EU's duty-free question, and the EU answer
    came back; CLDR names every country in every language, so the place reaches the refusal."""
    english = translate(question, load_glossaries(GLOSSARIES)[language]).english
    assert country in english.split() or country in english
    assert assistant.ask(question).refused


def test_a_country_in_lower_case_is_still_a_name(assistant):
    """A place the rulebook never writes, typed in lower case, is a name the evidence lacks."""
    assert assistant.ask("whats the duty free limit for parcels into kazakhstan?").refused
    assert not assistant.ask("whats the duty free limit for parcels into the eu?").refused


def test_a_glossarys_own_name_for_a_country_wins_over_cldrs():
    """Spanish "Reino Unido" is bridged to "uk" by the glossary; CLDR adds no second name."""
    english = translate(
        "¿Qué IVA cobra AliExpress en pedidos al Reino Unido?", load_glossaries(GLOSSARIES)["es"]
    ).english
    assert "uk" in english.split() and "united kingdom" not in english


def test_a_word_in_capitals_is_no_acronym_piece():
    """Turkish İ is a letter: "İADE" in a shouted question is the word iade, not İ + "ADE"."""
    english = translate("ALICI İADE İSTİYOR, ne yapmalıyım?", load_glossaries(GLOSSARIES)["tr"])
    assert "refund request" in english.english
    assert not {"ADE", "ST", "YOR"} & set(english.english.split())


def test_a_country_named_in_another_language_reaches_its_rulebook_name(container):
    """A customs question about Korea, asked in Korean, must know it names a place; lower
    case or a translation, a place the rulebook only writes capitalised is a name."""
    ko = load_glossaries(GLOSSARIES)["ko"]
    assert "south korea" in translate("한국으로 들어가는 물품의 관세 면제 한도는?", ko).english
    container.retrieval.refresh()
    retriever = container.retrieval.retriever
    assert retriever.is_name("korea") and retriever.is_name("Canada")
    assert not retriever.is_name("refund") and not retriever.is_name("store")


def test_the_platforms_name_in_the_possessive_is_no_name_the_passages_lack(assistant):
    """ "AliExpress's" is the platform's own name, a stop word like "AliExpress": it used to
    count as a name the best passages lack and refused a covered question."""
    assert terms("AliExpress's rules") == terms("AliExpress rules") == ["rule"]
    for question in (
        "What are AliExpress's rules for fake orders?",
        "How many points does AliExpress's penalty system give for a false shipment?",
    ):
        answer = assistant.ask(question)
        assert not answer.refused, answer.text


def test_words_seen_only_in_source_addresses_are_not_rulebook_vocabulary(container):
    """Addresses end every paragraph ("...aliexpress-e-shopee.shtml"); their words would make
    a marketplace or a file suffix look like a term the rulebook uses."""
    retriever = container.retrieval.retriever
    container.retrieval.refresh()
    assert retriever.document_frequency("shtml") == 0
    assert retriever.document_frequency("penalti") > 0


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("What is the phone number of seller support?", True),
        ("A review has my personal phone number in it. Can I delete it?", False),  # a detail
        ("Below what value are parcels duty-free?", True),
        ("How quickly is a ticket answered?", True),  # a duration question is a figure one
        ("What duty do postal items from Vietnam pay?", True),
        ("Do I pay duty on returned goods?", False),
        ("Can I switch to another carrier?", False),
        ("Where do I list a link so a buyer can pay a price difference?", False),  # in passing
        ("Fake certificates cost points, but what else can happen?", False),
        ("Is there a fee to open a store?", True),
    ],
)
def test_which_questions_ask_for_a_figure(question, asks):
    """The figure signals (`figure_missing`, `figure_focus`) and the lead sentence rest on it."""
    assert asks_for_figure(question) is asks


@pytest.mark.parametrize(
    ("sentence", "figure", "duration"),
    [
        ("Fragile items are wrapped in three layers of bubble film.", True, False),
        ("The buyer has seven days to confirm.", True, True),
        ("The seller has 5 working days.", True, True),
        ("No one may list it, and it is one of the banned goods.", False, False),
        ("Each member may hold only one account with selling rights.", True, False),
        ("A penalty can be appealed just one time.", True, False),
        ("Funds are paid only once the protection period ends.", False, False),
    ],
)
def test_a_figure_written_in_words_is_a_figure(sentence, figure, duration):
    """A rule may spell its number out; a figure question must still find it stated."""
    assert states_figure(sentence) is figure
    assert states_duration(sentence) is duration


# -- sellers' questions as search keys -------------------------------------------------------

ASKS_DOC = """---
title: Warehouse memo
---

# Warehouse memo

## Late parcels
<!-- sellers ask
- my courier lost a box, who pays the buyer back?
- parcel vanished in transit, am I on the hook?
-->

Lost consignments are reimbursed by the logistics partner within 14 days of the claim.
Source: https://example.com/memo (official, 2025)

## Packing
Every carton is weighed twice before it leaves the bay.
Source: https://example.com/memo (official, 2025)
"""


def test_sellers_questions_find_their_section_and_are_never_quoted(
    tmp_settings, store_for, assistant_for
):
    """A question in a seller's words that shares no rule word with the text still finds the
    section through its "sellers ask" keys; the keys stay out of the text and of every answer."""
    write(tmp_settings.knowledge_dir / "memo.md", ASKS_DOC)
    run_ingest(tmp_settings, store=store_for(tmp_settings))
    assistant = assistant_for(tmp_settings)
    retrieval = assistant.retrieval
    retrieval.refresh()
    chunks = retrieval.passages_in("memo.md")
    late = next(p for p in chunks if p.section == "Late parcels")
    assert "sellers ask" not in late.text and "on the hook" not in late.text
    assert "courier lost a box" in late.metadata["asks"]
    passages, _ = retrieval.ranked("the courier lost my box, am I on the hook for it?", 2)
    assert passages[0].section == "Late parcels" and passages[0].asked > 0.6
    assert passages[0].asked > passages[1].asked
    answer = assistant.ask("the courier lost my box, am I on the hook for it?")
    assert "on the hook" not in answer.text and "courier lost" not in answer.text


@pytest.mark.parametrize(
    ("sentence", "pointer"),
    [
        ("Payout accounts and withdrawal fees are in the payouts guide (payouts.md).", True),
        ("See the appeals guide for the evidence each violation type needs.", True),
        ("The shipping guide has the compensation rules.", True),
        ("Every 12 points freezes the store for 7 days (see the penalty points guide).", False),
        ("A third-party guide says only companies are accepted.", False),
    ],
)
def test_which_sentences_only_point_to_another_guide(sentence, pointer):
    assert bool(_POINTER.search(sentence)) is pointer


def test_a_sentence_pointing_to_another_guide_does_not_lead(container):
    """It names the asked topic, so it scores well on words; the rule itself must lead."""
    container.retrieval.refresh()
    found = container.retrieval.find(
        "When shoppers score a store in the detailed ratings, which parts are they judging?", 8
    )
    assert any(_POINTER.search(s.sentence.text) for s in found.scored)
    assert not _POINTER.search(found.scored[0].sentence.text)


@pytest.mark.parametrize(
    ("question", "asking"),
    [
        (
            "A buyer in Poland wants a refund. I'm travelling. How long do I have to answer?",
            "How long do I have to answer?",
        ),
        ("How long do I have? What if I miss it?", "How long do I have? What if I miss it?"),
        ("penalty points last how long", "penalty points last how long"),
        # a chat message's last line asks without its question mark
        (
            "buyer put my phone nr in a review. can i delete it? how long do i have",
            "can i delete it? how long do i have",
        ),
        (
            "Buyer opened a dispute. I shipped it on time.",
            "Buyer opened a dispute. I shipped it on time.",
        ),
    ],
)
def test_the_asking_part_of_a_question_leaves_the_story_out(question, asking):
    assert asking_part(question) == asking


def test_a_name_in_the_story_is_context_not_what_is_asked(container):
    """A scenario's "buyer in Liechtenstein" is no question about Liechtenstein's rules."""
    container.retrieval.refresh()
    story = container.retrieval.find(
        "A buyer in Liechtenstein opened a refund request over the colour. "
        "How many days do I have to respond?",
        8,
    ).signals
    asked = container.retrieval.find("What refund deadline applies in Liechtenstein?", 8)
    assert story.names_missing == 0.0
    assert asked.signals.names_missing == 1.0


@pytest.mark.parametrize(
    ("language", "question", "kept", "not_kept"),
    [
        # Turkish "ne kadar" is "how long" as often as "how much": bare, it asks for no sum
        ("tr", "Ceza puanları sicilde ne kadar kalıyor?", {"how long"}, {"how much"}),
        ("tr", "Şikayet etmek için ne kadar vaktim var?", {"how long"}, {"how much"}),
    ],
)
def test_an_ambiguous_phrase_takes_its_meaning_from_a_longer_one(
    language, question, kept, not_kept
):
    glossary = load_glossaries(GLOSSARIES)[language]
    found = {en for _, en in glossary.phrases_in(question)}
    assert kept <= found and not (not_kept & found), found


def test_a_buyer_in_any_eu_country_reaches_the_eu_rules(assistant):
    """The rulebook speaks of the EU; a seller names the buyer's country."""
    answer = assistant.ask(
        "Un client en Belgique me dit que la douane a retenu son colis (2 articles, 800 g) pour "
        "suspicion de contrefaçon. Elle peut le détruire sans passer par le titulaire de la "
        "marque ? Et il a combien de temps pour s'y opposer ?"
    )
    assert not answer.refused, answer.text
    assert any(c.source.startswith("customs") for c in answer.citations), answer.citations


@pytest.mark.parametrize(
    ("language", "question", "parts"),
    [
        (
            "zh",
            "关于提现问两个问题：1）提美元每笔手续费是多少？2）提人民币到支付宝收不收费？",
            ("withdrawal usd fee", "rmb alipay payment fee"),
        ),
        (
            "pt",
            "Quando o dinheiro de um pedido é liberado pra mim? E dá pra receber mais rápido?",
            ("money order released", "early release"),
        ),
        ("es", "¿Cuántos días tengo para responder a una solicitud de reembolso?", ()),
    ],
)
def test_each_ask_of_a_translated_question_keeps_its_own_terms(language, question, parts):
    """The bag of rule terms mixes a question's asks; the answer needs a sentence for each."""
    glossary = load_glossaries(GLOSSARIES)[language]
    found = translate(question, glossary).parts
    assert len(found) == len(parts)
    for got, want in zip(found, parts, strict=True):
        assert set(want.split()) <= set(got.split()), found


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("es", "en mercado libre cuantos dias tengo para despachar un pedido?"),
        ("ko", "쿠팡 로켓그로스는 판매 수수료가 카테고리별로 어떻게 되나요?"),
    ],
)
def test_another_marketplace_named_in_another_language_is_refused(assistant, language, question):
    """The bag of rule terms keeps the marketplace's name: its rules are not AliExpress's."""
    assert language in translate(question, load_glossaries(GLOSSARIES)[language]).language
    assert assistant.ask(question).refused


def test_a_place_in_a_translated_story_is_context_not_the_question(assistant):
    """'My maker is in China' tells the story; the question is what the listing must show,
    and the rulebook not naming China beside it is no reason to refuse."""
    question = "gpsr jdois mettre quoi sur la fiche produit exactement?? mon fabricant est en chine"
    translation = translate(question, load_glossaries(GLOSSARIES)["fr"])
    assert "china" in translation.english and "china" not in translation.asking
    answer = assistant.ask(question)
    assert not answer.refused, answer.text
    assert any(c.source.startswith("eu-product-safety") for c in answer.citations)


def test_a_number_inside_a_chinese_phrase_keeps_its_own_figure():
    """365天 is a year: the 5天 inside it is no second rule term."""
    glossary = load_glossaries(GLOSSARIES)["zh"]
    found = {en for _, en in glossary.phrases_in("365天销售考核")}
    assert "365 days" in found and "5 days" not in found, found


def test_a_figure_the_rulebook_names_but_never_states_is_a_signal(assistant):
    """The early-release plan's deposit is described, its percentage never given: the sentence
    most about it states no share while a less apt one does, and the refusal model reads that.
    Where the sentence about the thing holds the figure (the refund-request deadline), the
    signal stays at zero."""
    unstated = "How big a percentage of every order does the early release plan keep back?"
    stated = "How many days do I have to respond to a refund request?"
    signals = {q: assistant.gather(q, q, []).signals.figure_elsewhere for q in (unstated, stated)}
    assert signals[unstated] > 0.1, signals
    assert signals[stated] == 0.0, signals
    assert "figure_elsewhere" in load_refusal_model(REPO / "eval/refusal-model.json").features


def test_a_long_story_does_not_hide_the_figure_the_best_sentence_states(assistant):
    """A long question's words ("keyword stuffing", "category") fill a neighbouring sentence
    better than the rule that gives the figure; when the best-ranked sentence states the
    figure asked for, nothing is elsewhere."""
    story = (
        "how many listing points do I need to collect for a wrong category or keyword "
        "stuffing before my store is frozen, and for how many days?"
    )
    evidence = assistant.gather(story, story, [])
    assert evidence.signals.figure_elsewhere == 0.0
    lead = evidence.scored[0].sentence.text
    assert re.search(r"\b12 points\b", lead) and re.search(r"\b7 days\b", lead)
    # quoted; or, since round 25's refit put this question just under the threshold (its
    # figure focus reads the figure's sentence alone), refused with that rule's passage first
    answer = assistant.ask(story)
    shown = answer.passages[0].text if answer.refused else answer.text
    assert re.search(r"\b12 points\b", shown) and re.search(r"\b7 days\b", shown)


@pytest.mark.parametrize(
    ("language", "question", "leans"),
    [
        ("zh", "那发英国的呢？门槛也是一样的吗？", True),
        ("zh", "发欧盟的小包，速卖通代收VAT的订单金额上限是多少？", False),
        ("es", "¿Y si el comprador no devuelve el producto?", True),
        ("es", "¿Cuántos días tengo para responder a un reembolso?", False),
        ("pt", "Beleza. E se o comprador não devolver?", True),  # after an acknowledgement
        ("pt", "É verdade que posso vender réplicas?", False),  # "é" is no "e"
        ("fr", "Ok top. Et côté retours, c'est quoi le minimum ?", True),
        ("ru", "А если я реально отправил?", True),
        ("ru", "Сколько дней на ответ по спору?", False),
        ("tr", "Peki İngiltere için?", True),
        ("ko", "그럼 영국은요?", True),
        ("ko", "또한 분쟁 기한은 며칠인가요?", False),  # 또한 is a word of its own, not 또
    ],
)
def test_a_follow_up_opening_is_read_in_every_language(language, question, leans):
    from app.components.language import leans_on_earlier

    assert leans_on_earlier(question, load_glossaries(GLOSSARIES)[language]) is leans


def test_a_follow_up_in_another_language_is_searched_with_the_earlier_question(assistant):
    """ "那发英国的呢？" (and shipping to the UK?) names no threshold: after a question about
    the EU's VAT threshold it asks for the UK's, and the answer quotes GBP 135."""
    history = [
        {"role": "user", "content": "发欧盟的小包，速卖通代收VAT的订单金额上限是多少？"},
        {"role": "assistant", "content": "AliExpress collects the VAT on orders up to EUR 150."},
    ]
    question = "那发英国的呢？门槛也是一样的吗？"
    follow_up = assistant.ask(question, history=history)
    alone = assistant.ask(question)
    assert not follow_up.refused, follow_up.text
    assert "GBP 135" in follow_up.text
    assert alone.refused or "GBP 135" not in alone.text
    # a follow-up naming its own topic is searched as it is
    own = "Ok top. Et côté retours et garantie, c'est quoi le minimum pour les clients UE ?"
    french = [
        {"role": "user", "content": "Je peux ouvrir une boutique en tant qu'auto-entrepreneur ?"}
    ]
    assert assistant.english_terms(own, french) == assistant.english_terms(own)


def test_the_refusal_model_knows_a_question_was_searched_with_the_conversation(assistant):
    """A follow-up's evidence holds the earlier question's words, so the best sentences can
    match the conversation without holding what the new question asks: the refusal model is
    told (the `follow_up` signal), in English and in another language alike."""

    def english(question: str, history: list[dict] | None = None) -> float:
        evidence, _ = assistant.english_evidence(assistant.screen(question), history)
        return evidence.signals.follow_up

    def chinese(question: str, history: list[dict] | None = None) -> float:
        screened = assistant.screen(question)
        translation = assistant.translation(screened.text, history)
        return assistant.foreign_evidence(screened, translation).signals.follow_up

    earlier = [
        {"role": "user", "content": "How many days do I have to answer a refund request?"},
        {"role": "assistant", "content": "5 days, or it is refunded automatically."},
    ]
    assert english("and if I miss it?", earlier) == 1.0
    assert english("How long does a buyer have to send a return back?", earlier) == 0.0
    assert english("How long does a buyer have to send a return back?") == 0.0
    vat = [
        {"role": "user", "content": "发欧盟的小包，速卖通代收VAT的订单金额上限是多少？"},
        {"role": "assistant", "content": "AliExpress collects the VAT on orders up to EUR 150."},
    ]
    assert chinese("那发英国的呢？门槛也是一样的吗？", vat) == 1.0
    assert chinese("那发英国的呢？门槛也是一样的吗？") == 0.0


def test_a_sum_asked_in_another_language_is_checked_for_a_sum(assistant):
    """ "¿De cuánto es la multa…?" reaches the bag as a count of a fine: it asks for a sum, and
    the rulebook gives none for a missing GPSR responsible person (each state sets its fines),
    so it is refused rather than answered with the EUR 150 of an import rule. A count of points
    asks for no sum."""
    fine = "¿De cuánto es la multa en Alemania si no tengo persona responsable del GPSR?"
    points = "¿Cuántos puntos me quitan por vender falsificaciones?"
    assert asks_for_amount(assistant.english_terms(fine))
    assert not asks_for_amount(assistant.english_terms(points))
    answer = assistant.ask(fine)
    assert answer.refused, answer.text
    assert not assistant.ask(points).refused


def test_a_follow_up_counts_the_sellers_phrases_not_the_rule_terms_they_give(assistant):
    """ "fiche produit" is one topic though the glossary gives it three rule terms: "Ok, et sur
    ma fiche produit, je dois afficher quoi exactement ?" still leans on the GPSR question
    before it and is answered with what the listing must show."""
    history = [
        {
            "role": "user",
            "content": "Depuis le GPSR, c'est quoi cette histoire de personne "
            "responsable dans l'UE ?",
        },
        {"role": "assistant", "content": "Un opérateur économique établi dans l'UE…"},
    ]
    question = "Ok, et sur ma fiche produit, je dois afficher quoi exactement ?"
    assert "gpsr" in assistant.english_terms(question, history)
    assert "gpsr" not in assistant.english_terms(question)
    answer = assistant.ask(question, history=history)
    assert not answer.refused, answer.text
    assert "GPSR" in answer.text


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("What minimum yearly sales does an apparel store need to pass the assessment?", True),
        ("For the 365-day assessment, what sales total do I need to hit?", True),
        ("How many euros per parcel will the handling fee be?", True),
        ("What sales channels can I use?", False),
        ("How many points does a fake order cost?", False),
        ("What price do I have to set for the campaign?", True),
        ("Which earlier price am I supposed to show next to the discount?", False),
        ("How much do they skim each time I withdraw?", True),
        # a part of a score is a share; "how much time" is a length of time
        ("How much weight does non-sale carry in the service score?", False),
        ("How much is that part of the score worth?", False),
        ("How much time do I have to ship?", False),
        # a rating is a share and a score a score, neither a sum of money
        ("how much positive rate need for the sale?", False),
        ("And how much DSR score do I need?", False),
        # what a violation costs the seller is points; what withdrawing costs is money
        ("If it's an ordinary case, what does each one cost me?", False),
        ("What does it cost to withdraw dollars?", True),
    ],
)
def test_which_questions_ask_for_a_sum_of_money(question, asks):
    """A sales total is a sum: the answer must state one, so a sentence giving only the
    assessment's 365 days does not answer it (and "could not be found" does)."""
    assert asks_for_amount(question) is asks


def test_the_weight_of_a_score_part_is_a_share_and_how_much_time_a_duration():
    """Read as sums of money, both found no sentence stating one and were refused (the
    service score's "non-sale (10%)" answered neither)."""
    assert asks_for_share("How much weight do non-sale and not-received disputes carry?")
    assert asks_for_duration("How much time do I have to respond?")


def test_a_percent_after_a_number_is_the_sellers_figure_not_an_asked_share(assistant):
    """ "A 40%-off deal ... which 'before' price?" read as asking for a percentage, found no
    sentence stating one beside the 30-day rule, and was refused."""
    assert not asks_for_share("Planning a 40%-off deal. Which 'before' price can I show?")
    assert not asks_for_share("My feedback is at 88 % positive, can I join?")
    assert asks_for_share("what is my positive %?")
    answer = assistant.ask(
        "Planning a 40%-off flash deal for French shoppers. Which 'before' price may I show?"
    )
    assert not answer.refused, answer.text
    assert "30 days" in answer.text


def test_a_percent_sign_in_a_yes_no_question_names_the_metric(assistant):
    """ "Do ratings on tiny orders count toward my positive %?" asks whether, not how much: read
    as asking a share, no sentence about the USD 5 exclusion stated one and it was refused."""
    question = "do ratings on tiny orders like 3 bucks even count toward my positive %?"
    assert not asks_for_figure(question)
    assert not asks_for_share(question)
    assert asks_for_share("what % commission does the platform take on each sale?")
    assert asks_for_share("is there a max % of turnover?")
    answer = assistant.ask(question)
    assert not answer.refused, answer.text
    assert "USD 5" in answer.text
