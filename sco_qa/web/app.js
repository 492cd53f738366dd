// sco-qa chat page. Every string from the corpus or the user goes in as text, never as HTML.
"use strict";

const MAX_TURNS = 10;

const state = {
  history: [], docs: new Map(), busy: false, documentCount: 0,
  // the collection asked of (?collection=NAME in the URL); null: the server's default
  collection: new URLSearchParams(location.search).get("collection"),
};
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
    error.code = body && body.error ? body.error.code : "";
    throw error;
  }
  return body;
}

// The collection's own routes: /collections/NAME/… (unprefixed: the default collection).
function api(path) {
  return state.collection ? `/collections/${encodeURIComponent(state.collection)}${path}` : path;
}

// ---------------------------------------------------------------- collections

async function showCollections() {
  let listed;
  try {
    listed = await getJSON("/collections");
  } catch (err) {
    return;  // an older server, or no key yet: the default collection only
  }
  const picker = $("collection-picker");
  const names = listed.collections.map((c) => c.name);
  if (state.collection && !names.includes(state.collection)) state.collection = null;
  picker.replaceChildren(...listed.collections.map((c) => el("option", { value: c.name, text: c.title })));
  picker.value = state.collection || listed.default;
  $("collections").hidden = listed.collections.length < 2;
}

function chooseCollection(name) {
  state.collection = name;
  const url = new URL(location.href);
  url.searchParams.set("collection", name);
  history.replaceState(null, "", url);
  state.history = [];
  state.docs.clear();
  $("messages").replaceChildren();
  $("doc").replaceChildren();
  delete $("doc").dataset.docId;
  showFirstDocument(60);
}

// ---------------------------------------------------------------- the document panel

async function loadDocument(docId) {
  if (!state.docs.has(docId)) {
    state.docs.set(docId, await getJSON(api(`/documents/${encodeURIComponent(docId)}`)));
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
    const shown = block.kind === "heading" ? text.replace(/^#+\s*/, "") : text;
    if (i === 0 && block.kind === "heading" && shown.trim() === doc.title.trim()) return;  // shown once
    if (block.kind !== "heading" && isList(text)) {
      article.append(listBlock(doc.text, block.start, block.end));
      return;
    }
    article.append(el(block.kind === "heading" ? "h4" : "p", {
      "data-start": String(block.start),
      "data-end": String(block.end),
      "data-kind": block.kind,
      text: shown,
    }));
  });
}

const ITEM = /^\s*([-*•]|\d+[.)])\s+/;
const isList = (text) => text.split("\n").filter((l) => l.trim()).every((l) => ITEM.test(l));

// a paragraph of list lines as a list: each item keeps its own offsets, its marker is the
// list's own (so a wrapped item's marker does not sit on its second line)
function listBlock(text, start, end) {
  const ordered = /^\s*\d/.test(text.slice(start, end));
  const list = el(ordered ? "ol" : "ul", { class: "doc-list-block" });
  let at = start;
  for (const line of text.slice(start, end).split("\n")) {
    const lineStart = at;
    at += line.length + 1;
    if (!line.trim()) continue;
    const marker = line.match(ITEM)[0].length;
    list.append(el("li", {
      "data-start": String(lineStart + marker),
      "data-end": String(lineStart + line.length),
      "data-kind": "item",
      text: line.slice(marker),
    }));
  }
  return list;
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

const narrow = () => window.matchMedia("(max-width: 800px)").matches;

// Highlight exactly text[start:end] by offsets (a span may cross paragraphs); the answer
// phrase, when given, is bold inside it. On a narrow screen the page does not jump to the
// document: the answer stays in view and the panel below shows the highlight.
async function showSpan(docId, start, end, phrase = null) {
  const doc = await loadDocument(docId);
  clearHighlight();
  let first = null;
  for (const node of document.querySelectorAll("#doc [data-start]")) {
    if (node.dataset.kind === "heading") continue;
    const bStart = Number(node.dataset.start);
    const bEnd = Number(node.dataset.end);
    if (bEnd <= start || bStart >= end) continue;
    const from = Math.max(start, bStart);
    const to = Math.min(end, bEnd);
    const mark = el("mark", { class: "hl", tabindex: "-1" }, ...marked(doc.text, from, to, phrase));
    node.replaceChildren(doc.text.slice(bStart, from), mark, doc.text.slice(to, bEnd));
    node.classList.add("active");
    first = first || mark;
  }
  if (first) {
    if (!narrow()) first.scrollIntoView({ block: "center" });
    first.focus({ preventScroll: true });
  }
}

// text[from:to] as nodes, the part inside the phrase in <strong>
function marked(text, from, to, phrase) {
  if (!phrase || phrase.end <= from || phrase.start >= to) return [text.slice(from, to)];
  const a = Math.max(from, phrase.start);
  const b = Math.min(to, phrase.end);
  return [text.slice(from, a), el("strong", { class: "phrase", text: text.slice(a, b) }), text.slice(b, to)];
}

// ---------------------------------------------------------------- the chat

function addMessage(kind, who, ...body) {
  $("examples").hidden = true;
  const item = el("li", { class: `msg ${kind}` },
    el("div", { class: "who" }, ...[].concat(who)), el("div", { class: "body" }, ...body));
  $("messages").append(item);
  item.scrollIntoView({ block: "nearest" });
  return item;
}

function citationChip(c) {
  return el("button", {
    type: "button",
    class: "chip",
    "aria-label": `Show citation ${c.n} in its document`,
    "data-n": String(c.n),
    onclick: () => showSpan(c.doc_id, c.start, c.end, c.phrase),
  }, `[${c.n}]`);
}

const SURE = {
  high: "High confidence",
  medium: "Medium confidence",
  low: "Low confidence: check the source",
};

function confidenceBadge(answer) {
  const label = answer.confidence_label || "low";
  return el("span", {
    class: `conf conf-${label}`,
    title: `Confidence ${answer.confidence.toFixed(2)}: the estimated probability that the quote holds the answer`,
    "data-confidence": String(answer.confidence),
  }, SURE[label] || label);
}

// the quote as text, its answer phrase in <strong>
function quoteNodes(c) {
  if (!c.phrase) return [c.quote];
  const a = c.phrase.start - c.start;
  const b = c.phrase.end - c.start;
  return [c.quote.slice(0, a), el("strong", { class: "phrase", text: c.quote.slice(a, b) }), c.quote.slice(b)];
}

function whereIn(c) {
  const where = [];
  if (c.section) where.push(c.section);
  if (c.page) where.push(`page ${c.page}`);
  if (!where.length) where.push(`paragraph ${c.paragraph}`);
  return where.join(", ");
}

function sourceList(citations) {
  const list = el("ul", { class: "cite-list" });
  const byDoc = new Map();
  for (const c of citations) {
    if (!byDoc.has(c.doc_id)) byDoc.set(c.doc_id, []);
    byDoc.get(c.doc_id).push(c);
  }
  for (const cites of byDoc.values()) {
    const items = el("ul", { class: "cite-places" });
    for (const c of cites) {
      items.append(el("li", {}, el("button", {
        type: "button",
        class: "source-link",
        onclick: () => showSpan(c.doc_id, c.start, c.end, c.phrase),
      }, `[${c.n}] ${whereIn(c)}`)));
    }
    list.append(el("li", {}, el("span", { class: "cite-doc", text: cites[0].title }), items));
  }
  return list;
}

function renderAnswer(answer) {
  if (!answer.answered) {
    clearHighlight();
    const related = el("ol", { class: "related" });
    for (const p of answer.passages.slice(0, 3)) {
      const label = p.text.length > 140 ? `${p.text.slice(0, 140)}…` : p.text;
      related.append(el("li", {}, el("button", {
        type: "button",
        class: "related-link",
        onclick: () => showSpan(p.doc_id, p.start, p.end),
      }, label)));
    }
    const one = state.documentCount === 1;
    return addMessage("bot not-found", one ? "Not in the document" : "Not in the documents",
      el("p", { text: answer.answer }),
      el("p", { class: "related-title", text: "Passages closest to this question (they do not answer it):" }),
      related);
  }
  const top = best(answer.citations);
  const blocks = answer.citations.map((c) => el("blockquote", {
    class: c === top ? "quote-block best" : "quote-block",
    "data-n": String(c.n),
    "data-start": String(c.start),
  }, el("p", {}, el("span", { class: "quote" }, ...quoteNodes(c)), " ", citationChip(c))));
  return addMessage("bot answer", ["Answer ", confidenceBadge(answer)], ...blocks, sourceList(answer.citations));
}

function best(citations) {
  return citations.reduce((a, c) => (c.score > a.score ? c : a), citations[0]);
}

// Ask; while the index is still loading, wait (showing how far it got) and ask again.
async function askWhenReady(body, loading) {
  for (;;) {
    try {
      return await getJSON(api("/ask"), body);
    } catch (err) {
      if (err.status !== 503 || err.code !== "index_loading") throw err;
      loading.querySelector(".body").textContent =
        `Waiting for the index: ${err.message.replace(/; retry in a few seconds$/, "")}. Your question will be answered when it is ready.`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function ask(question) {
  if (state.busy) return;
  state.busy = true;
  $("send").disabled = true;
  addMessage("user", "You", question);
  const loading = addMessage("bot loading", "Searching", "Looking through the documents…");
  loading.setAttribute("aria-busy", "true");
  try {
    const answer = await askWhenReady({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question, history: state.history.slice(-MAX_TURNS) }),
    }, loading);
    loading.remove();
    const shown = renderAnswer(answer);
    state.history.push({ question: answer.question, answer: answer.answer });
    if (answer.answered) {
      const top = best(answer.citations);
      await showSpan(top.doc_id, top.start, top.end, top.phrase);
    }
    shown.scrollIntoView({ block: "nearest" });
    if (!state.documentCount) showFirstDocument(1);
  } catch (err) {
    loading.remove();
    addMessage("bot error", "Error", el("p", { role: "alert", text: err.message }));
  } finally {
    state.busy = false;
    $("send").disabled = false;
    $("question").focus({ preventScroll: narrow() });
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
  $("examples").hidden = site.examples.length === 0 || $("messages").children.length > 0;
  $("example-list").replaceChildren(...site.examples.map((text) => el("li", {}, el("button", {
    type: "button",
    onclick: () => ask(text),
  }, text))));
}

function showDocumentList(list) {
  state.documentCount = list.documents.length;
  const picker = $("doc-picker");
  picker.replaceChildren(...list.documents.map((d) => el("option", { value: d.doc_id, text: d.title })));
  $("doc-list").hidden = list.documents.length < 2;
  $("all-docs").hidden = list.documents.length < 2;
  $("all-docs-count").textContent = `${list.documents.length} documents`;
  $("all-docs-list").replaceChildren(...list.documents.map((d) => el("li", {}, el("button", {
    type: "button",
    class: "doc-link",
    onclick: () => loadDocument(d.doc_id),
  }, d.title))));
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
  showCollections().then(() => showFirstDocument(60));
}

async function init() {
  $("ask-form").addEventListener("submit", submit);
  $("key-form").addEventListener("submit", useKey);
  $("doc-picker").addEventListener("change", (event) => loadDocument(event.target.value));
  $("collection-picker").addEventListener("change", (event) => chooseCollection(event.target.value));
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  });
  $("question").focus();
  await showCollections();
  await showFirstDocument(60);
}

async function showFirstDocument(tries) {
  try {
    showSite(await getJSON(api("/site")));
    const list = await getJSON(api("/documents"));
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
