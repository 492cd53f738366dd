"""The chat page in a real Chromium (Debian's), driven by Playwright, against a live server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import CHROMIUM, CORPUS
from .live import live_server
from .samples import write_mixed

XSS = (
    '<script>window.__xss=1</script> <img src=x onerror="window.__xss=2"> '
    '"><svg onload="window.__xss=3">'
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: run make install-browser"
    ),
]


@pytest.fixture(scope="module")
def base(engine):
    with live_server(CORPUS, engine.settings.index_dir) as url:
        yield url


@pytest.fixture()
def page(browser, base):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    pg.goto(base + "/")
    pg.wait_for_selector("#doc p[data-start]")
    yield pg
    context.close()


def ask(page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.wait_for_selector(".msg.loading", state="detached", timeout=30_000)


def test_answer_citation_highlights_the_quote(page, base, shots) -> None:
    ask(page, "Which organizations does Kazakhstan chair?")
    answer = page.locator(".msg.answer").last
    assert "Organization of Turkic States" in answer.inner_text()
    chip = answer.locator("button.chip").first
    quote = answer.locator(".quote").first.text_content()
    chip.click()
    mark = page.locator("#doc mark.hl")
    mark.first.wait_for()
    assert "".join(mark.all_text_contents()) == quote
    assert mark.first.is_visible()
    in_view = page.evaluate(
        "() => { const r = document.querySelector('#doc mark.hl').getBoundingClientRect();"
        " const s = document.querySelector('#source').getBoundingClientRect();"
        " return r.top >= s.top && r.bottom <= s.bottom; }"
    )
    assert in_view
    assert page.evaluate("document.activeElement.id") == "question" or mark.first.evaluate(
        "m => document.activeElement === m"
    )
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "desktop.png"), full_page=True)


def test_keyboard_and_focus(page) -> None:
    page.fill("#question", "first line")
    page.press("#question", "Shift+Enter")
    page.type("#question", "second line")
    assert page.input_value("#question") == "first line\nsecond line"
    assert page.locator(".msg").count() == 0  # Shift+Enter did not send
    page.fill("#question", "Where did the leaders meet?")
    page.press("#question", "Enter")
    page.wait_for_selector(".msg.answer, .msg.not-found", timeout=30_000)
    assert page.evaluate("document.activeElement.id") == "question"
    assert page.get_attribute("#messages", "aria-live") == "polite"
    assert page.locator("label[for=question]").count() == 1


def test_not_in_the_article_state(page) -> None:
    ask(page, "How tall is the Independence Palace?")
    msg = page.locator(".msg.not-found").last
    assert "does not answer" in msg.inner_text() and "Not in the document\n" in msg.inner_text()
    assert msg.locator("button.chip").count() == 0
    related = msg.locator("button.related-link")
    assert related.count() >= 1
    related.first.click()
    page.locator("#doc mark.hl").first.wait_for()


def test_follow_up_uses_history(page) -> None:
    requests = []
    page.on(
        "request", lambda r: requests.append(r.post_data_json) if r.url.endswith("/ask") else None
    )
    ask(page, "Who is Roger Kangas?")
    ask(page, "And what did he say about trade?")
    assert requests[-1]["history"][0]["question"] == "Who is Roger Kangas?"
    assert "trade partner" in page.locator(".msg.answer").last.inner_text()


def test_errors_show_inline(page, base) -> None:
    page.evaluate("document.getElementById('question').removeAttribute('maxlength')")
    ask(page, "x" * 1000 + " y")  # the server's own 422, shown with its message
    assert "at most 1000 characters" in page.locator(".msg.error").last.inner_text()
    page.route(
        "**/ask",
        lambda route: route.fulfill(
            status=422,
            content_type="application/json",
            body='{"error": {"code": "invalid_request", "message": "question: too long"}}',
        ),
    )
    ask(page, "anything")
    assert "question: too long" in page.locator(".msg.error").last.inner_text()
    page.unroute("**/ask")
    page.route("**/ask", lambda route: route.abort("connectionrefused"))
    ask(page, "anything else")
    assert "could not be reached" in page.locator(".msg.error").last.inner_text()
    assert page.is_enabled("#send")  # nothing froze


def test_phone_layout_has_no_horizontal_scroll(browser, base, shots) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    pg = context.new_page()
    pg.goto(base + "/")
    pg.wait_for_selector("#doc p[data-start]")
    ask(pg, "Which organizations does Kazakhstan chair?")
    pg.locator("button.chip").first.click()
    pg.locator("#doc mark.hl").first.wait_for()
    width = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    shots.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(shots / "phone.png"), full_page=True)
    context.close()


def test_hostile_text_runs_no_script(browser, embedder, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hostile.md").write_text(
        f"---\ntitle: Hostile {XSS}\n---\n\nThe payload {XSS} sits in this paragraph about "
        f"Astana summits.\n\nAnother paragraph mentions Astana and {XSS} again.\n",
        encoding="utf-8",
    )
    with live_server(corpus, tmp_path / "index") as url:
        context = browser.new_context()
        pg = context.new_page()
        pg.goto(url + "/")
        pg.wait_for_selector("#doc p[data-start]")
        ask(pg, f"What about Astana summits {XSS}?")
        pg.locator(".msg.answer button.chip, .msg.not-found button.related-link").first.click()
        pg.locator("#doc mark.hl").first.wait_for()
        assert pg.evaluate("window.__xss") is None
        assert (
            pg.locator("#doc script, #doc img, #doc svg, #messages script, #messages img").count()
            == 0
        )
        assert "<script>" in pg.locator("#doc").inner_text()  # shown as text
        context.close()
    shutil.rmtree(tmp_path / "index", ignore_errors=True)


def marked(page, quote: str) -> None:
    """Wait until exactly ``quote`` is highlighted in the document panel."""
    page.wait_for_function(
        "q => [...document.querySelectorAll('#doc mark.hl')]"
        ".map(m => m.textContent).join('') === q",
        arg=quote,
        timeout=10_000,
    )


MIXED_QUESTIONS = [
    ("How long are gift cards valid after purchase?", "handbook/giftcards", "page 1"),
    ("Where can visitors park at the Riverside office?", "office/html-only/parking", ""),
    ("How many days of paid holiday does every employee get?", "office/holidays", ""),
    ("How much water does the kettle hold?", "notes", ""),
    ("When are expense claims due?", "claims", ""),
]


def test_a_folder_of_every_kind_of_document(browser, tmp_path: Path, shots) -> None:
    corpus = write_mixed(tmp_path / "corpus")
    (corpus / "claims.txt").write_text(
        "Expense claims\n\nExpense claims are due within 30 days of the purchase.\n", "utf-8"
    )
    (corpus / "scan.png").write_bytes(b"\x89PNG")
    env = {"SCO_QA_ABSTAIN_THRESHOLD": "0"}  # what is checked here is where quotes come from
    with live_server(corpus, tmp_path / "index", env=env) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        pg = context.new_page()
        pg.goto(url + "/")
        pg.wait_for_selector("#doc p[data-start]")
        assert pg.locator("#site-title").inner_text() == "Ask the documents"
        assert "6 documents" not in pg.locator("#site-subtitle").inner_text()
        assert "5 documents" in pg.locator("#site-subtitle").inner_text()
        assert pg.locator("#example-list button").count() == 0  # no heading is a question
        assert pg.locator("#examples").is_hidden()
        assert pg.locator("#doc-picker option").count() == 5
        assert "scan.png: unsupported type" in (pg.locator("#skipped-list").text_content() or "")
        assert pg.title().startswith("sco-qa — Ask the documents")
        pg.locator("#doc-picker").select_option("notes")
        pg.wait_for_selector("#doc[data-doc-id='notes']")
        assert pg.locator("#doc").inner_text().count("Kitchen") == 1  # the title once
        for question, doc_id, where in MIXED_QUESTIONS:
            ask(pg, question)
            answer = pg.locator(".msg.answer").last
            quote = answer.locator(".best .quote").text_content()
            marked(pg, quote)  # the best citation is highlighted at once
            assert pg.get_attribute("#doc", "data-doc-id") == doc_id
            assert pg.input_value("#doc-picker") == doc_id
            n = answer.locator(".best").get_attribute("data-n")
            source = answer.locator("button.source-link", has_text=f"[{n}]")
            assert where in source.inner_text()
            pg.locator("#doc-picker").select_option(index=0 if doc_id != "notes" else 1)
            source.click()  # the source line opens the quote too
            marked(pg, quote)
            assert pg.get_attribute("#doc", "data-doc-id") == doc_id
        shots.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(shots / "mixed.png"), full_page=True)
        context.close()


def test_a_server_with_api_keys_asks_for_one(browser, engine) -> None:
    key = "page-key-31c7"
    env = {"SCO_QA_API_KEYS": key}
    with live_server(CORPUS, engine.settings.index_dir, env=env) as url:
        context = browser.new_context()
        pg = context.new_page()
        pg.goto(url + "/")  # the page itself is open; what it loads next needs the key
        pg.wait_for_selector("#key-form:not([hidden])")
        assert "API key" in pg.locator("#doc").inner_text()
        pg.fill("#api-key", "a-wrong-key")
        pg.press("#api-key", "Enter")
        pg.wait_for_selector("#key-form:not([hidden])")
        assert pg.locator("#doc p[data-start]").count() == 0
        pg.fill("#api-key", key)
        pg.press("#api-key", "Enter")
        pg.wait_for_selector("#doc p[data-start]")
        assert pg.locator("#key-form").is_hidden()
        assert pg.locator("#doc-list").is_hidden()  # one document: no picker
        ask(pg, "Which organizations does Kazakhstan chair?")
        assert "Organization of Turkic States" in pg.locator(".msg.answer").last.inner_text()
        assert pg.evaluate("sessionStorage.getItem('sco-qa-api-key')") == key
        context.close()
