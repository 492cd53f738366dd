// sco-qa chat page. Every string from the corpus or the user goes in as text, never as HTML.
"use strict";

const MAX_TURNS = 10;

const state = { history: [], docs: new Map(), busy: false };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const KEY_ITEM = "sco-qa-api-key";  // kept for this tab only (sessionStorage)

function withKey(options = {}) {
  const key = sessionStorage.getItem(KEY_ITEM);
  if (!key) return options;
  return { ...options, headers: { ...(options.headers || {}), authorization: `Bearer ${key}` } };
}

function askForKey() {
  $("key-form").hidden = false;
  $("api-key").focus();
}

async function getJSON(url, options) {
  let resp;
  try {
    resp = await fetch(url, withKey(options));
  } catch (err) {
    throw new Error("The server could not be reached. Check that it is running and try again.");
  }
  let body = null;
  try {
    body = await resp.json();
  } catch (err) {
    body = null;
  }
  if (resp.status === 401) {
    sessionStorage.removeItem(KEY_ITEM);
    askForKey();
    const error = new Error("This server needs an API key: enter it in the box at the top.");
    error.status = 401;
    throw error;
  }
  if (!resp.ok) {
    const message = body && body.error ? body.error.message : `HTTP ${resp.status}`;
    const error = new Error(message);
    error.status = resp.status;
    throw error;
  }
  return body;
}

// ---------------------------------------------------------------- the document panel

async function loadDocument(docId) {
  if (!state.docs.has(docId)) {
    state.docs.set(docId, await getJSON(`/documents/${encodeURIComponent(docId)}`));
  }
  const doc = state.docs.get(docId);
  if ($("doc").dataset.docId !== docId) renderDocument(doc);
  $("doc-picker").value = docId;
  return doc;
}

function renderDocument(doc) {
  const article = $("doc");
  article.replaceChildren(el("h3", { class: "doc-title", text: doc.title }));
  article.dataset.docId = doc.doc_id;
  const meta = [doc.metadata.source_section, doc.metadata.credit && `Credit: ${doc.metadata.credit}`];
  $("doc-meta").textContent = meta.filter(Boolean).join(" · ");
  if (doc.metadata.standfirst) {
    article.append(el("p", { class: "standfirst", text: doc.metadata.standfirst }));
  }
  doc.blocks.forEach((block, i) => {
    const text = doc.text.slice(block.start, block.end);
    const tag = block.kind === "heading" ? "h4" : "p";
    const shown = block.kind === "heading" ? text.replace(/^#+\s*/, "") : text;
    if (i === 0 && block.kind === "heading" && shown.trim() === doc.title.trim()) return;  // shown once
    article.append(el(tag, {
      "data-start": String(block.start),
      "data-end": String(block.end),
      "data-kind": block.kind,
      text: shown,
    }));
  });
}

function clearHighlight() {
  for (const node of document.querySelectorAll("#doc [data-start]")) {
    if (node.querySelector("mark")) {
      const doc = state.docs.get($("doc").dataset.docId);
      const start = Number(node.dataset.start);
      node.textContent = doc.text.slice(start, Number(node.dataset.end));
    }
    node.classList.remove("active");
  }
}

// Highlight exactly text[start:end] by offsets (a span may cross paragraphs).
async function showSpan(docId, start, end) {
  const doc = await loadDocument(docId);
  clearHighlight();
  let first = null;
  for (const node of document.querySelectorAll("#doc p[data-start]")) {
    const bStart = Number(node.dataset.start);
    const bEnd = Number(node.dataset.end);
    if (bEnd <= start || bStart >= end) continue;
    const from = Math.max(start, bStart);
    const to = Math.min(end, bEnd);
    const mark = el("mark", { class: "hl", tabindex: "-1", text: doc.text.slice(from, to) });
    node.replaceChildren(doc.text.slice(bStart, from), mark, doc.text.slice(to, bEnd));
    node.classList.add("active");
    first = first || mark;
  }
  if (first) {
    first.scrollIntoView({ block: "center" });
    first.focus({ preventScroll: true });
  }
}

// ---------------------------------------------------------------- the chat

function addMessage(kind, who, ...body) {
  $("examples").hidden = true;
  const item = el("li", { class: `msg ${kind}` },
    el("div", { class: "who", text: who }), el("div", { class: "body" }, ...body));
  $("messages").append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function citationChip(c) {
  return el("button", {
    type: "button",
    class: "chip",
    "aria-label": `Show citation ${c.n} in its document`,
    "data-n": String(c.n),
    onclick: () => showSpan(c.doc_id, c.start, c.end),
  }, `[${c.n}]`);
}

function renderAnswer(answer) {
  if (!answer.answered) {
    const related = el("ol", { class: "related" });
    for (const p of answer.passages.slice(0, 3)) {
      const label = p.text.length > 140 ? `${p.text.slice(0, 140)}…` : p.text;
      related.append(el("li", {}, el("button", {
        type: "button",
        class: "related-link",
        onclick: () => showSpan(p.doc_id, p.start, p.end),
      }, label)));
    }
    return addMessage("bot not-found", "Not in the documents",
      el("p", { text: answer.answer }), el("p", { class: "related-title", text: "Related passages:" }), related);
  }
  const parts = [];
  for (const c of answer.citations) {
    parts.push(el("span", { class: "quote", text: c.quote }), citationChip(c), " ");
  }
  const sources = el("ul", { class: "cite-list" });
  for (const c of answer.citations) {
    const where = [c.section || "Introduction", `paragraph ${c.paragraph}`];
    if (c.page) where.push(`page ${c.page}`);
    sources.append(el("li", {}, el("button", {
      type: "button",
      class: "source-link",
      onclick: () => showSpan(c.doc_id, c.start, c.end),
    }, `[${c.n}] ${c.title} — ${where.join(", ")}`)));
  }
  return addMessage("bot answer", "Answer", el("p", {}, ...parts), sources);
}

async function ask(question) {
  if (state.busy) return;
  state.busy = true;
  $("send").disabled = true;
  addMessage("user", "You", question);
  const loading = addMessage("bot loading", "Searching", "Looking through the documents…");
  loading.setAttribute("aria-busy", "true");
  try {
    const answer = await getJSON("/ask", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question, history: state.history.slice(-MAX_TURNS) }),
    });
    loading.remove();
    renderAnswer(answer);
    state.history.push({ question: answer.question, answer: answer.answer });
    const first = answer.answered ? answer.citations[0] : null;
    if (first) await showSpan(first.doc_id, first.start, first.end);
  } catch (err) {
    loading.remove();
    addMessage("bot error", "Error", el("p", { role: "alert", text: err.message }));
  } finally {
    state.busy = false;
    $("send").disabled = false;
    $("question").focus();
  }
}

function submit(event) {
  if (event) event.preventDefault();
  const box = $("question");
  const question = box.value.trim();
  if (!question) return;
  box.value = "";
  ask(question);
}

function showSite(site) {
  $("site-title").textContent = site.title;
  $("site-subtitle").textContent = site.subtitle;
  document.title = `sco-qa — ${site.title}`;
  $("example-list").replaceChildren(...site.examples.map((text) => el("li", {}, el("button", {
    type: "button",
    onclick: () => ask(text),
  }, text))));
}

function showDocumentList(list) {
  const picker = $("doc-picker");
  picker.replaceChildren(...list.documents.map((d) => el("option", { value: d.doc_id, text: d.title })));
  $("doc-list").hidden = list.documents.length < 2;
  const skipped = list.skipped || [];
  $("skipped").hidden = skipped.length === 0;
  $("skipped-list").replaceChildren(...skipped.map((s) => el("li", { text: `${s.path}: ${s.reason}` })));
}

function useKey(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_ITEM, key);
  $("api-key").value = "";
  $("key-form").hidden = true;
  $("question").focus();
  showFirstDocument(60);
}

async function init() {
  $("ask-form").addEventListener("submit", submit);
  $("key-form").addEventListener("submit", useKey);
  $("doc-picker").addEventListener("change", (event) => loadDocument(event.target.value));
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  });
  $("question").focus();
  await showFirstDocument(60);
}

async function showFirstDocument(tries) {
  try {
    showSite(await getJSON("/site"));
    const list = await getJSON("/documents");
    showDocumentList(list);
    if (list.documents.length) await loadDocument(list.documents[0].doc_id);
  } catch (err) {
    $("doc").replaceChildren(el("p", { class: "error", text: err.message }));
    if (err.status === 503 && tries > 1) {  // the index is still loading
      setTimeout(() => showFirstDocument(tries - 1), 1000);
    }
  }
}

document.addEventListener("DOMContentLoaded", init);
