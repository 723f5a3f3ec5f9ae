// Chat page: streams answers from /api/chat/stream and shows cited paragraphs.
"use strict";

(() => {
  const { el, apiFetch, errorText, readSSE, articleHref, highlighted, metaLine } = QA;
  const history = document.getElementById("history");
  const form = document.getElementById("ask");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const hint = document.getElementById("empty-hint");
  const panel = document.getElementById("panel");
  let conversationId = null;
  let busy = false;
  let lastOpener = null;

  function filters() {
    const f = {};
    const source = document.getElementById("f-source").value.trim();
    const from = document.getElementById("f-from").value;
    const to = document.getElementById("f-to").value;
    if (source) f.source = source;
    if (from) f.date_from = from;
    if (to) f.date_to = to;
    return Object.keys(f).length ? f : null;
  }

  // Answer text with [n] markers as buttons (or plain text until citation n is verified).
  function renderAnswer(body, text, citations) {
    body.replaceChildren();
    const pattern = /\[(\d+)\]/g;
    let last = 0;
    let match;
    while ((match = pattern.exec(text))) {
      body.append(text.slice(last, match.index));
      const marker = Number(match[1]);
      const citation = citations.get(marker);
      if (citation) {
        body.append(el("button", {
          type: "button", class: "cite", "data-marker": marker,
          "aria-label": "Source " + marker + ": " + citation.title,
          title: citation.title,
          onclick: (ev) => showCitation(citation, ev.currentTarget),
        }, "[" + marker + "]"));
      } else {
        body.append(el("span", { class: "cite-pending" }, match[0]));
      }
      last = pattern.lastIndex;
    }
    body.append(text.slice(last));
  }

  function renderSources(list, citations) {
    list.replaceChildren();
    for (const c of [...citations.values()].sort((a, b) => a.marker - b.marker)) {
      list.append(el("li", {},
        el("button", { type: "button", class: "source-link", onclick: (ev) => showCitation(c, ev.currentTarget) },
          "[" + c.marker + "] " + c.title),
        el("span", { class: "meta" }, " " + metaLine([c.source, c.published]))));
    }
    list.hidden = citations.size === 0;
  }

  function showCitation(c, opener) {
    lastOpener = opener || null;
    document.querySelectorAll(".cite.active, .source-link.active").forEach((b) => b.classList.remove("active"));
    if (opener) opener.classList.add("active");
    document.getElementById("panel-title").textContent = c.title;
    document.getElementById("panel-meta").textContent = metaLine([c.source, c.published, c.paragraph_id]);
    const heading = document.getElementById("panel-heading");
    heading.textContent = c.heading || "";
    heading.hidden = !c.heading;
    const mark = highlighted(document.getElementById("panel-text"), c.paragraph_text, c.start, c.end);
    document.getElementById("panel-link").href = articleHref(c.article_id, c.paragraph_id, c.start, c.end);
    panel.hidden = false;
    document.body.classList.add("panel-open");
    panel.focus({ preventScroll: true });
    if (mark) mark.scrollIntoView({ block: "nearest" });
  }

  function closePanel() {
    panel.hidden = true;
    document.body.classList.remove("panel-open");
    if (lastOpener) lastOpener.focus();
  }

  function addMessage(role, text) {
    hint.hidden = true;
    const body = el("div", { class: "msg-body" }, text);
    const item = el("li", { class: "msg " + role }, el("span", { class: "who" }, role === "user" ? "You" : "Answer"), body);
    history.append(item);
    item.scrollIntoView({ block: "end" });
    return { item, body };
  }

  async function ask(question) {
    busy = true;
    send.disabled = true;
    addMessage("user", question);
    const { item, body } = addMessage("assistant", "");
    item.classList.add("pending");
    item.setAttribute("aria-busy", "true");
    body.append(el("span", { class: "thinking" }, "Searching the articles..."));
    const sources = el("ol", { class: "sources", hidden: true, "aria-label": "Sources" });
    item.append(sources);
    const citations = new Map();
    let text = "";
    let finished = false;
    const fail = (message) => {
      item.classList.add("failed");
      body.replaceChildren(el("span", { class: "error", role: "alert" }, message));
    };
    try {
      const payload = { message: question };
      if (conversationId) payload.conversation_id = conversationId;
      const f = filters();
      if (f) payload.filters = f;
      const response = await apiFetch("/api/chat/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify(payload),
      });
      if (!response.ok) {
        if (response.status === 404 && conversationId) conversationId = null; // expired: start afresh
        fail(await errorText(response));
        return;
      }
      await readSSE(response, (name, raw) => {
        let data;
        try { data = JSON.parse(raw); } catch (_) { return; }
        if (name === "meta") {
          if (data.conversation_id) conversationId = data.conversation_id;
        } else if (name === "token") {
          text += data.text || "";
          renderAnswer(body, text, citations);
        } else if (name === "citation") {
          citations.set(data.marker, data);
          renderAnswer(body, text, citations);
        } else if (name === "answer") {
          finished = true;
          citations.clear();
          for (const c of data.citations || []) citations.set(c.marker, c);
          if (data.conversation_id) conversationId = data.conversation_id;
          text = data.answer;
          renderAnswer(body, text, citations);
          renderSources(sources, citations);
          if (data.abstained) item.classList.add("abstained");
        } else if (name === "error") {
          finished = true;
          fail(data.detail || "The answer failed.");
        }
      });
      if (!finished) fail("The connection ended before the answer was complete.");
    } catch (err) {
      fail("Could not reach the server: " + err.message);
    } finally {
      item.classList.remove("pending");
      item.removeAttribute("aria-busy");
      busy = false;
      send.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  document.getElementById("new-conversation").addEventListener("click", () => {
    conversationId = null;
    history.replaceChildren();
    hint.hidden = false;
    closePanel();
    input.focus();
  });
  document.getElementById("panel-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !panel.hidden) closePanel();
  });
})();
