"""What a person sees on the chat page, in a real Chromium against a real server: how sure
an answer is, the answer phrase, refusals that clear the old highlight, a question asked
while the index builds, quotes in document order, a phone's viewport, FAQ examples."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from sco_qa.index.lock import build_lock

from .conftest import CHROMIUM, CORPUS
from .live import live_server
from .test_web import ask

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing"),
]
ANSWERED = "Which organizations does Kazakhstan chair?"
UNANSWERED = "How tall is the Independence Palace?"


@pytest.fixture(scope="module")
def base(engine):
    with live_server(CORPUS, engine.settings.index_dir) as url:
        yield url


def open_page(browser, base: str, width: int = 1280, height: int = 860):
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    pg.goto(base + "/")
    pg.wait_for_selector("#doc p[data-start]")
    return context, pg


def test_confidence_is_shown_in_words_with_the_number_on_hover(browser, base) -> None:
    context, pg = open_page(browser, base)
    ask(pg, ANSWERED)
    badge = pg.locator(".msg.answer .conf").last
    real = httpx.post(f"{base}/ask", json={"question": ANSWERED}).json()
    words = {"high": "High confidence", "medium": "Medium confidence", "low": "Low confidence"}
    assert badge.inner_text().startswith(words[real["confidence_label"]])
    assert f"Confidence {real['confidence']:.2f}" in badge.get_attribute("title")
    context.close()


def test_the_answer_phrase_is_bold_in_the_quote_and_the_document(browser, base) -> None:
    answer = httpx.post(f"{base}/ask", json={"question": ANSWERED}).json()
    c = answer["citations"][0]
    if c.get("phrase") is None:  # the page must show a phrase wherever the answer has one
        words = c["quote"].split()
        text = " ".join(words[2:5])
        at = c["quote"].index(text)
        c["phrase"] = {"start": c["start"] + at, "end": c["start"] + at + len(text), "text": text}
    phrase = c["phrase"]["text"]
    context, pg = open_page(browser, base)
    pg.route("**/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                   body=json.dumps(answer)))  # fmt: skip
    ask(pg, ANSWERED)
    block = pg.locator(f".msg.answer blockquote[data-n='{c['n']}']")
    assert block.locator("strong.phrase").inner_text() == phrase
    assert phrase in block.locator(".quote").inner_text()
    block.locator("button.chip").click()
    pg.locator("#doc mark.hl strong.phrase").first.wait_for()
    assert "".join(pg.locator("#doc mark.hl strong.phrase").all_text_contents()) == phrase
    context.close()


def test_a_refusal_clears_the_highlight_and_lists_the_closest_passages(browser, base) -> None:
    context, pg = open_page(browser, base)
    ask(pg, ANSWERED)
    pg.locator("#doc mark.hl").first.wait_for()
    ask(pg, UNANSWERED)
    msg = pg.locator(".msg.not-found").last
    assert pg.locator("#doc mark.hl").count() == 0  # no yellow beside "not in the document"
    assert "closest to this question" in msg.inner_text()
    passages = httpx.post(f"{base}/ask", json={"question": UNANSWERED}).json()["passages"]
    first = msg.locator("button.related-link").first.inner_text().rstrip("…")
    assert passages[0]["text"].startswith(first)  # this question's passages, best first
    context.close()


def test_several_quotes_stand_apart_in_document_order(browser, base) -> None:
    answer = httpx.post(f"{base}/ask", json={"question": ANSWERED}).json()
    assert answer["answered"]
    first = answer["citations"][0]
    other = next(
        h for h in httpx.get(f"{base}/search", params={"q": "the SCO summit", "k": 10}).json()[
            "hits"] if h["end"] <= first["start"] or h["start"] >= first["end"]
    )  # fmt: skip
    second = {**first, "start": other["start"], "end": other["start"] + 80,
              "quote": other["text"][:80], "section": other["section"], "score": 0.1,
              "paragraph": other["paragraph"], "phrase": None}  # fmt: skip
    cites = sorted([first, second], key=lambda c: c["start"])  # as the server orders them
    for n, c in enumerate(cites, start=1):
        c["n"] = n
    answer["citations"] = cites
    context, pg = open_page(browser, base)
    pg.route("**/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                   body=json.dumps(answer)))  # fmt: skip
    ask(pg, ANSWERED)
    blocks = pg.locator(".msg.answer").last.locator("blockquote")
    assert blocks.count() == 2
    starts = [int(blocks.nth(i).get_attribute("data-start")) for i in range(2)]
    assert starts == sorted(starts)  # separate blocks, in document order
    assert [blocks.nth(i).get_attribute("data-n") for i in range(2)] == ["1", "2"]
    assert blocks.nth(1).locator(".quote").inner_text() == cites[1]["quote"]
    sources = pg.locator(".msg.answer").last.locator(".cite-doc")
    assert sources.count() == 1  # the document named once, then each place
    assert pg.locator(".msg.answer").last.locator(".source-link").count() == 2
    assert "Introduction" not in pg.locator(".msg.answer").last.inner_text()
    best = pg.locator(".msg.answer .best")  # the best quote is highlighted, wherever it stands
    assert best.get_attribute("data-start") == str(first["start"])
    context.close()


def test_on_a_phone_the_answer_stays_in_view(browser, base, shots) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = context.new_page()
    pg.goto(base + "/")
    pg.wait_for_selector("#doc p[data-start]")
    ask(pg, ANSWERED)
    box = pg.locator(".msg.answer").last.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] < 844  # its top is on screen
    assert pg.locator(".msg.answer .chip").first.bounding_box()["y"] < 844
    scrollers = pg.evaluate(
        "() => [...document.querySelectorAll('*')].filter(e => {"
        " const s = getComputedStyle(e); return ['auto', 'scroll'].includes(s.overflowY)"
        " && e.scrollHeight > e.clientHeight; }).length"
    )
    assert scrollers == 0  # one scrolling surface: the page
    shots.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(shots / "phone-answer.png"))
    context.close()


def test_a_question_asked_while_the_index_builds_is_answered_after(
    browser,
    tmp_path: Path,
) -> None:
    """The test holds the build lock, so the server's build waits on it: the question is
    asked meanwhile, shows the wait, and is answered once the lock is let go."""
    index = tmp_path / "index"
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with build_lock(index):
            held.set()
            release.wait(120)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    held.wait(10)
    with live_server(CORPUS, index, wait_ready=False) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        pg = context.new_page()
        pg.goto(url + "/")
        pg.fill("#question", ANSWERED)
        pg.press("#question", "Enter")
        waiting = pg.locator(".msg.loading")
        waiting.wait_for()
        pg.wait_for_function(  # the build's progress, as the server reports it
            "() => document.querySelector('.msg.loading')?.innerText.includes('another build')",
            timeout=30_000,
        )
        assert "Waiting for the index" in waiting.inner_text()
        assert pg.locator(".msg.answer, .msg.error").count() == 0
        release.set()
        pg.wait_for_selector(".msg.answer", timeout=180_000)
        assert "Organization of Turkic States" in pg.locator(".msg.answer").inner_text()
        assert pg.locator(".msg.error").count() == 0
        pg.locator("#doc mark.hl").first.wait_for()
        context.close()
    holder.join(5)


def test_faq_headings_are_the_example_questions(browser, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "faq.md").write_text(
        "---\ntitle: Office FAQ\n---\n\n## How do I book a meeting room?\n\nMeeting rooms are "
        "booked in the calendar under Resources, up to four weeks ahead.\n\n## Where is the "
        "first-aid kit?\n\nThe first-aid kit hangs beside the kitchen door on every floor.\n\n"
        "## Opening hours\n\nThe building opens at seven and closes at nine.\n",
        encoding="utf-8",
    )
    (corpus / "notes.md").write_text("# Notes\n\nThe printer on floor two is out of toner.\n",
                                     encoding="utf-8")  # fmt: skip
    with live_server(corpus, tmp_path / "index") as url:
        context = browser.new_context()
        pg = context.new_page()
        pg.goto(url + "/")
        pg.wait_for_selector("#doc p[data-start]")
        examples = pg.locator("#example-list button").all_inner_texts()
        assert examples == ["How do I book a meeting room?", "Where is the first-aid kit?"]
        assert "2 documents" in pg.locator("#site-subtitle").inner_text()
        assert "Office FAQ" not in pg.locator("#site-subtitle").inner_text()
        pg.locator("#all-docs summary").click()
        assert pg.locator("#all-docs-list button").all_inner_texts() == ["Office FAQ", "Notes"]
        pg.locator("#example-list button").first.click()
        pg.wait_for_selector(".msg.answer, .msg.not-found", timeout=30_000)
        assert "calendar under Resources" in pg.locator(".msg").last.inner_text()
        context.close()


def test_a_collection_picker_when_there_are_several(browser, tmp_path: Path) -> None:
    hr = tmp_path / "hr"
    hr.mkdir()
    (hr / "handbook.md").write_text(
        "# Staff handbook\n\nEvery employee gets twenty-five days of paid leave a year.\n",
        encoding="utf-8",
    )
    env = {"SCO_QA_COLLECTIONS": f"sco={CORPUS},hr={hr}"}
    with live_server(CORPUS, tmp_path / "index", env=env) as url:
        context, pg = open_page(browser, url)
        picker = pg.locator("#collection-picker")
        assert picker.is_visible() and picker.input_value() == "sco"
        assert pg.locator("#collection-picker option").all_inner_texts() == ["sco", "hr"]
        picker.select_option("hr")
        pg.locator("#doc .doc-title", has_text="Staff handbook").wait_for()
        assert pg.url.endswith("?collection=hr")
        ask(pg, "How many days of paid leave does an employee get?")
        assert "twenty-five days" in pg.locator(".msg.answer").last.inner_text()
        pg.reload()  # the URL remembers the collection
        pg.locator("#doc .doc-title", has_text="Staff handbook").wait_for()
        assert pg.locator("#collection-picker").input_value() == "hr"
        context.close()
    with live_server(CORPUS, tmp_path / "one-index") as url:  # one folder: no picker
        context, pg = open_page(browser, url)
        assert not pg.locator("#collections").is_visible()
        context.close()
