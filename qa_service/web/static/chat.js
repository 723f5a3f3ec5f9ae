// Chat page: streamed answers with [n] citations, conversations kept on the server
// (list, reload, Back, shareable /c/<id>), filters as chips, stop, copy.
"use strict";

(() => {
  const {
    el, apiFetch, getJSON, errorText, readSSE, articleHref, highlighted, metaLine, humanDate, copyText,
    preview, quotePreview, confirmDialog,
  } = QA;
  const CURRENT = "qa_conversation"; // localStorage: the conversation "/" reopens
  const maxChars = Number(document.body.dataset.maxChars) || 2000;
  const $ = (id) => document.getElementById(id);

  const form = $("ask");
  const input = $("message");
  const send = $("send");
  const stopButton = $("stop");
  const historyList = $("history");
  const scroller = $("scroller");
  const intro = $("intro");
  const panel = $("panel");
  const statusLine = $("chat-status");
  const counter = $("counter");
  const shareButton = $("share");
  const filterInputs = { source: $("f-source"), date_from: $("f-from"), date_to: $("f-to") };
  const filterError = $("filter-error");

  let conversationId = null;
  let current = null; // the turn being streamed
  let lastOpener = null;
  let outlets = []; // [{name, articles}] from /api/outlets

  const say = (text) => { statusLine.textContent = text; };
  const norm = (s) => String(s || "").toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
  const idFromPath = () => {
    const m = location.pathname.match(/^\/c\/([^/]+)\/?$/);
    return m ? decodeURIComponent(m[1]) : null;
  };

  // ------------------------------------------------------------------ SSE events
  // The one place that knows the stream's events (see docs/api.md):
  //   meta {conversation_id, standalone_question}, token {text} (verified text only),
  //   citation {Citation}, answer {Answer}, error {detail, status}. Others are ignored.
  function applyEvent(turn, name, data) {
    switch (name) {
      case "meta":
        if (data.conversation_id) adoptConversation(data.conversation_id);
        showInterpretation(turn, data.standalone_question);
        break;
      case "token":
        turn.text += data.text || "";
        renderBody(turn);
        break;
      case "citation":
        if (Number.isInteger(data.marker)) turn.citations.set(data.marker, data);
        renderBody(turn);
        break;
      case "answer":
        finishTurn(turn, data, true);
        break;
      case "error":
        turn.finished = true;
        failTurn(turn, data.detail || "The answer failed.");
        break;
      default:
        break;
    }
    if (turn.follow) reveal(turn);
  }

  // ------------------------------------------------------------------ rendering
  function userItem(question, filters) {
    const item = el("li", { class: "msg user" }, el("span", { class: "who" }, "You"),
      el("div", { class: "msg-body" }, question));
    const chips = filterChips(filters);
    if (chips.length) item.append(el("p", { class: "meta" }, "Filters: " + chips.map((c) => c.label).join(" · ")));
    return item;
  }

  function newTurn(question, filters) {
    const user = userItem(question, filters);
    const interp = el("p", { class: "interpreted", hidden: true });
    const body = el("div", { class: "msg-body" });
    const extra = el("div", { class: "answer-extra" });
    const sources = el("div", { class: "sources", hidden: true });
    const tools = el("div", { class: "tools", hidden: true });
    const item = el("li", { class: "msg assistant" }, el("span", { class: "who" }, "Answer"), interp, body,
      extra, sources, tools);
    return { question, filters, user, item, interp, body, extra, sources, tools, text: "",
      citations: new Map(), retrieved: [], abstained: false, finished: false, follow: true };
  }

  function addTurn(turn) {
    intro.hidden = true;
    historyList.append(turn.user, turn.item);
  }

  function showInterpretation(turn, standalone) {
    if (!standalone || norm(standalone) === norm(turn.question)) return;
    turn.interp.replaceChildren(el("span", { class: "label" }, "Interpreted as: "), standalone);
    turn.interp.hidden = false;
  }

  function citationMeta(c) {
    return metaLine([c.source, c.published ? humanDate(c.published) : null]);
  }

  function citeButton(c, label, extraClass) {
    const button = el("button", {
      type: "button", class: extraClass, "data-marker": c.marker,
      "aria-label": "Source " + c.marker + ": " + c.title,
      onclick: (ev) => showCitation(c, ev.currentTarget),
    }, label);
    preview.attach(button, () => quotePreview(c.title, citationMeta(c), c.quote));
    return button;
  }

  // The answer's own text: up to the refusal's list of closest paragraphs, which is shown as links.
  function answerText(turn) {
    if (!turn.abstained || !turn.retrieved.length) return turn.text;
    const cut = turn.text.indexOf(" The closest paragraphs");
    return cut > 0 ? turn.text.slice(0, cut) : turn.text;
  }

  // Answer text with [n] markers as buttons (plain text until citation n is verified).
  function renderBody(turn) {
    const body = turn.body;
    const text = answerText(turn);
    body.replaceChildren();
    const pattern = /\[(\d+)\]/g;
    let last = 0;
    let match;
    while ((match = pattern.exec(text))) {
      body.append(text.slice(last, match.index));
      const citation = turn.citations.get(Number(match[1]));
      body.append(citation ? citeButton(citation, match[0], "cite")
        : el("span", { class: "cite-pending" }, match[0]));
      last = pattern.lastIndex;
    }
    body.append(text.slice(last));
    if (!text && !turn.finished) body.append(el("span", { class: "thinking" }, "Searching the articles..."));
  }

  // Sources grouped by article: title, outlet and date once, then each quote cited from it.
  function renderSources(turn) {
    const groups = new Map();
    for (const c of [...turn.citations.values()].sort((a, b) => a.marker - b.marker)) {
      if (!groups.has(c.article_id)) groups.set(c.article_id, []);
      groups.get(c.article_id).push(c);
    }
    const list = el("ul", { class: "source-groups" });
    for (const cites of groups.values()) {
      const first = cites[0];
      const quotes = el("ul", { class: "source-quotes" });
      for (const c of cites) {
        const quote = c.quote.length > 160 ? c.quote.slice(0, 157) + "..." : c.quote;
        quotes.append(el("li", {}, citeButton(c, "[" + c.marker + "] \u201c" + quote + "\u201d", "source-link")));
      }
      list.append(el("li", { class: "source-group" },
        el("a", { class: "source-title", href: articleHref(first.article_id) }, first.title || first.article_id),
        el("span", { class: "meta" }, " " + citationMeta(first)), quotes));
    }
    turn.sources.replaceChildren(el("h3", { class: "sources-title" }, "Sources"), list);
    turn.sources.hidden = groups.size === 0;
  }

  // A refusal names its closest paragraphs: links to them, and a word about any filter that was on.
  function renderRefusal(turn) {
    turn.extra.replaceChildren();
    if (!turn.abstained) return;
    if (turn.retrieved.length) {
      const list = el("ul", { class: "closest-list" });
      for (const r of turn.retrieved.slice(0, 3)) {
        const snippet = r.text && r.text.length > 180 ? r.text.slice(0, 177) + "..." : r.text;
        list.append(el("li", {},
          el("a", { href: articleHref(r.article_id, r.paragraph_id) },
            (r.title || r.article_id) + (r.number ? ", paragraph " + r.number : "")),
          snippet ? el("span", { class: "snippet" }, snippet) : null));
      }
      turn.extra.append(el("p", { class: "closest-title" }, "Closest paragraphs found:"), list);
    }
    const chips = filterChips(turn.filters);
    if (chips.length) {
      turn.extra.append(el("p", { class: "filter-note" },
        "Only articles matching these filters were searched: " + chips.map((c) => c.label).join(" · ") + ". ",
        el("button", { type: "button", class: "linkish", onclick: () => askAgainWithoutFilters(turn.question) },
          "Ask again without filters")));
    }
  }

  function renderTools(turn) {
    const copy = el("button", { type: "button", class: "secondary small-btn" }, "Copy answer");
    copy.addEventListener("click", async () => {
      const ok = await copyText(plainAnswer(turn));
      copy.textContent = ok ? "Copied" : "Copy failed";
      say(ok ? "Answer copied." : "The browser did not allow copying.");
      setTimeout(() => { copy.textContent = "Copy answer"; }, 2000);
    });
    turn.tools.replaceChildren(copy);
    turn.tools.hidden = false;
  }

  function plainAnswer(turn) {
    const lines = [answerText(turn)];
    const cites = [...turn.citations.values()].sort((a, b) => a.marker - b.marker);
    if (cites.length) {
      lines.push("", "Sources:");
      for (const c of cites) {
        lines.push("[" + c.marker + "] " + metaLine([c.title, c.source, c.published]) + ": \u201c" + c.quote + "\u201d "
          + location.origin + articleHref(c.article_id, c.paragraph_id));
      }
    }
    return lines.join("\n");
  }

  function finishTurn(turn, answer, persist) {
    turn.finished = true;
    turn.text = answer.answer || "";
    turn.abstained = Boolean(answer.abstained);
    turn.retrieved = answer.retrieved || [];
    turn.citations.clear();
    for (const c of answer.citations || []) turn.citations.set(c.marker, c);
    if (answer.conversation_id) adoptConversation(answer.conversation_id);
    showInterpretation(turn, answer.standalone_question);
    turn.item.classList.toggle("abstained", turn.abstained);
    renderBody(turn);
    renderRefusal(turn);
    renderSources(turn);
    renderTools(turn);
    if (persist && conversationId) keepAnswer(conversationId, answer, turn);
  }

  function failTurn(turn, message) {
    turn.item.classList.add("failed");
    turn.body.replaceChildren(el("span", { class: "error", role: "alert" }, message));
  }

  // Newest question and the start of its answer in view, above the composer: the
  // conversation scrolls in its own box, so the composer never covers it.
  function reveal(turn) {
    const gap = 8;
    const top = turn.user.offsetTop - gap;
    const bottom = turn.item.offsetTop + turn.item.offsetHeight + gap;
    if (bottom - top <= scroller.clientHeight) scroller.scrollTop = bottom - scroller.clientHeight;
    else if (turn.user.offsetHeight < scroller.clientHeight * 0.4) scroller.scrollTop = top;
    else scroller.scrollTop = turn.item.offsetTop - gap;
  }

  // ------------------------------------------------------------------ the source panel
  function showCitation(c, opener) {
    lastOpener = opener || null;
    preview.hide();
    document.querySelectorAll(".cite.active, .source-link.active").forEach((b) => b.classList.remove("active"));
    if (opener) opener.classList.add("active");
    $("panel-title").textContent = c.title;
    $("panel-meta").textContent = metaLine([c.source, c.published ? humanDate(c.published) : null, c.paragraph_id]);
    const heading = $("panel-heading");
    heading.textContent = c.heading || "";
    heading.hidden = !c.heading;
    const mark = highlighted($("panel-text"), c.paragraph_text, c.start, c.end);
    $("panel-link").href = articleHref(c.article_id, c.paragraph_id, c.start, c.end);
    panel.hidden = false;
    document.body.classList.add("panel-open");
    panel.focus({ preventScroll: true });
    if (mark) mark.scrollIntoView({ block: "nearest" });
  }

  function closePanel() {
    if (panel.hidden) return;
    panel.hidden = true;
    document.body.classList.remove("panel-open");
    if (lastOpener && lastOpener.isConnected) lastOpener.focus();
  }

  // ------------------------------------------------------------------ filters
  function findOutlet(typed) {
    const key = typed.trim().toLowerCase();
    return outlets.find((o) => o.name.toLowerCase() === key) || null;
  }

  // {filters, error, field}: what the inputs ask for (the outlet in its stored spelling), and
  // the first problem that stops a question from being sent with them.
  function readFilters() {
    const f = {};
    let error = null;
    let field = null;
    const typed = filterInputs.source.value.trim();
    if (typed) {
      const outlet = findOutlet(typed);
      if (outlet) f.source = outlet.name;
      else if (outlets.length) {
        const names = outlets.slice(0, 6).map((o) => o.name).join(", ");
        error = "No outlet is called \u201c" + typed + "\u201d. Pick one from the list: " + names
          + (outlets.length > 6 ? ", ..." : "") + ".";
        field = filterInputs.source;
      } else f.source = typed; // the list could not be loaded: the server will judge
    }
    const from = filterInputs.date_from.value;
    const to = filterInputs.date_to.value;
    if (from) f.date_from = from;
    if (to) f.date_to = to;
    if (!error && from && to && from > to) {
      error = "The \u201cFrom\u201d date (" + humanDate(from) + ") is after the \u201cTo\u201d date ("
        + humanDate(to) + "). Swap them or remove one.";
      field = filterInputs.date_to;
    }
    return { filters: Object.keys(f).length ? f : null, error, field };
  }

  function filterChips(filters) {
    if (!filters) return [];
    const chips = [];
    if (filters.source) chips.push({ key: "source", label: "Outlet: " + filters.source });
    if (filters.date_from) chips.push({ key: "date_from", label: "From " + humanDate(filters.date_from) });
    if (filters.date_to) chips.push({ key: "date_to", label: "To " + humanDate(filters.date_to) });
    return chips;
  }

  function updateFilters() {
    const { filters, error, field } = readFilters();
    filterError.textContent = error || "";
    filterError.hidden = !error;
    for (const node of Object.values(filterInputs)) node.removeAttribute("aria-invalid");
    if (field) field.setAttribute("aria-invalid", "true");
    if (filters && filters.source && filterInputs.source.value !== filters.source && findOutlet(filters.source)) {
      filterInputs.source.value = filters.source; // show the stored spelling
    }
    const chips = filterChips(filters);
    const box = $("chips");
    box.replaceChildren(...chips.map((c) => el("span", { class: "chip" }, c.label,
      el("button", { type: "button", class: "chip-remove", "aria-label": "Remove filter " + c.label,
        onclick: () => removeFilter(c.key) }, "\u00d7"))));
    box.hidden = chips.length === 0;
    $("filter-count").textContent = chips.length ? " (" + chips.length + " on)" : "";
    return { filters, error, field };
  }

  function removeFilter(key) {
    filterInputs[key].value = "";
    updateFilters();
    const next = document.querySelector("#chips .chip-remove");
    (next || input).focus();
  }

  function askAgainWithoutFilters(question) {
    for (const node of Object.values(filterInputs)) node.value = "";
    updateFilters();
    if (!current) ask(question);
  }

  // ------------------------------------------------------------------ length
  function updateCounter() {
    const n = input.value.trim().length;
    counter.textContent = n + " / " + maxChars + (n > maxChars ? " \u2013 " + (n - maxChars) + " too many" : "");
    counter.classList.toggle("over", n > maxChars);
    input.toggleAttribute("aria-invalid", n > maxChars);
    send.disabled = n > maxChars;
  }

  // ------------------------------------------------------------------ conversations
  function adoptConversation(id) {
    if (id === conversationId) return;
    conversationId = id;
    localStorage.setItem(CURRENT, id);
    const path = "/c/" + encodeURIComponent(id);
    if (location.pathname !== path) history.replaceState(null, "", path);
    shareButton.hidden = false;
  }

  // Sends the answer back to be kept with the conversation (the server checks every citation).
  // Only what is kept is sent, small enough for keepalive: a reload right after an answer
  // does not cancel it.
  async function keepAnswer(id, answer, turn) {
    const record = { ...answer, retrieved: (answer.retrieved || []).slice(0, 3), timings: {}, diagnostics: {} };
    const body = JSON.stringify(record);
    try {
      const response = await apiFetch("/api/conversations/" + encodeURIComponent(id) + "/answer", {
        method: "PUT", headers: { "Content-Type": "application/json" }, body, prompt: false,
        keepalive: new Blob([body]).size < 60000, // the browser's keepalive limit is 64 KiB
      });
      if (response.ok) turn.item.dataset.kept = "true";
      else console.warn("answer not kept:", await errorText(response));
    } catch (err) {
      console.warn("answer not kept:", err);
    }
    refreshList();
  }

  function whenText(seconds) {
    const d = new Date(seconds * 1000);
    const today = new Date();
    if (d.toDateString() === today.toDateString()) {
      return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    return d.toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" });
  }

  async function refreshList() {
    let data;
    try {
      data = await getJSON("/api/conversations?limit=50", { prompt: false });
    } catch (_) {
      return;
    }
    const list = $("conv-list");
    list.replaceChildren();
    for (const c of data.conversations || []) {
      const here = c.id === conversationId;
      const questions = Math.ceil((c.turns || 0) / 2);
      list.append(el("li", { class: "conv" + (here ? " current" : "") },
        el("a", { class: "conv-link", href: "/c/" + encodeURIComponent(c.id), "aria-current": here ? "page" : null },
          el("span", { class: "conv-title" }, c.title || "Untitled"),
          el("span", { class: "conv-meta" }, whenText(c.updated) + " \u00b7 " + questions
            + (questions === 1 ? " question" : " questions"))),
        el("button", { type: "button", class: "icon-btn", "aria-label": "Delete conversation: " + (c.title || "Untitled"),
          onclick: () => deleteConversation(c) }, "\u00d7")));
    }
    $("conv-empty").hidden = list.children.length > 0;
  }

  async function deleteConversation(c) {
    if (!(await confirmDialog("Delete the conversation \u201c" + (c.title || "Untitled") + "\u201d?", "Delete"))) return;
    const response = await apiFetch("/api/conversations/" + encodeURIComponent(c.id), { method: "DELETE" });
    if (!response.ok && response.status !== 404) {
      say(await errorText(response));
      return;
    }
    if (c.id === conversationId) startNew(true);
    say("Conversation deleted.");
    await refreshList();
    (document.querySelector("#conv-list a") || input).focus();
  }

  function clearView() {
    historyList.replaceChildren();
    intro.hidden = false;
    closePanel();
  }

  function startNew(push) {
    if (current) current.controller.abort();
    conversationId = null;
    localStorage.removeItem(CURRENT);
    if (push && location.pathname !== "/") history.pushState(null, "", "/");
    shareButton.hidden = true;
    clearView();
    document.querySelectorAll("#conv-list .current").forEach((li) => {
      li.classList.remove("current");
      li.querySelector("a").removeAttribute("aria-current");
    });
  }

  async function openConversation(id) {
    clearView();
    conversationId = null;
    let data;
    try {
      data = await getJSON("/api/conversations/" + encodeURIComponent(id));
    } catch (err) {
      if (err.status === 404) {
        if (localStorage.getItem(CURRENT) === id) localStorage.removeItem(CURRENT);
        history.replaceState(null, "", "/");
        say("That conversation no longer exists (old conversations are removed). Start a new one.");
      } else {
        say("Could not load the conversation: " + err.message);
      }
      return;
    }
    adoptConversation(id);
    let turn = null;
    for (const t of data.turns || []) {
      if (t.role === "user") {
        turn = newTurn(t.content, null);
        turn.follow = false;
        addTurn(turn);
        showInterpretation(turn, t.standalone);
      } else if (t.role === "assistant" && turn) {
        if (t.answer) finishTurn(turn, { ...t.answer, conversation_id: id }, false);
        else {
          turn.finished = true;
          turn.text = t.content;
          renderBody(turn);
          turn.extra.replaceChildren(el("p", { class: "meta" }, "The sources of this answer were not kept."));
        }
        turn = null;
      }
    }
    const items = historyList.children;
    if (items.length >= 2) reveal({ user: items[items.length - 2], item: items[items.length - 1] });
    document.title = (data.title || "Conversation") + " - News QA";
    refreshList();
  }

  async function route() {
    const id = idFromPath();
    if (id) return openConversation(id);
    const saved = localStorage.getItem(CURRENT);
    if (saved) {
      history.replaceState(null, "", "/c/" + encodeURIComponent(saved));
      return openConversation(saved);
    }
    startNew(false);
  }

  // ------------------------------------------------------------------ asking
  function setBusy(busy) {
    send.hidden = busy;
    stopButton.hidden = !busy;
    if (!busy) updateCounter();
  }

  async function ask(question, filters) {
    const turn = newTurn(question, filters || null);
    turn.controller = new AbortController();
    current = turn;
    setBusy(true);
    addTurn(turn);
    turn.item.classList.add("pending");
    turn.item.setAttribute("aria-busy", "true");
    renderBody(turn);
    reveal(turn);
    say("Searching the articles...");
    try {
      const payload = { message: question };
      if (conversationId) payload.conversation_id = conversationId;
      if (turn.filters) payload.filters = turn.filters;
      const response = await apiFetch("/api/chat/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify(payload),
        signal: turn.controller.signal,
      });
      if (!response.ok) {
        if (response.status === 404 && conversationId) startNew(false); // expired: the next question starts afresh
        failTurn(turn, await errorText(response));
        return;
      }
      await readSSE(response, (name, raw) => {
        let data;
        try { data = JSON.parse(raw); } catch (_) { return; }
        applyEvent(turn, name, data);
      }, turn.controller.signal);
      if (turn.controller.signal.aborted) throw new DOMException("stopped", "AbortError");
      if (!turn.finished) failTurn(turn, "The connection ended before the answer was complete.");
      else say(turn.abstained ? "No answer found in the articles." : "Answer ready.");
    } catch (err) {
      if (err.name === "AbortError") {
        turn.item.classList.add("stopped");
        turn.finished = true;
        renderBody(turn);
        turn.extra.replaceChildren(el("p", { class: "meta" }, "Stopped. This answer is not kept."));
        say("Stopped.");
      } else {
        failTurn(turn, "Could not reach the server: " + err.message);
      }
    } finally {
      turn.item.classList.remove("pending");
      turn.item.removeAttribute("aria-busy");
      if (current === turn) current = null;
      setBusy(false);
      if (turn.follow) reveal(turn);
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const question = input.value.trim();
    if (!question || current) return;
    if (question.length > maxChars) {
      say("The question is " + (question.length - maxChars) + " characters too long.");
      input.focus();
      return;
    }
    const { filters, error, field } = updateFilters();
    if (error) {
      $("filters").open = true;
      field.focus();
      return;
    }
    input.value = "";
    updateCounter();
    ask(question, filters);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", updateCounter);
  for (const node of Object.values(filterInputs)) node.addEventListener("change", updateFilters);
  stopButton.addEventListener("click", () => { if (current) current.controller.abort(); input.focus(); });
  // Someone scrolling while an answer streams keeps their place.
  for (const name of ["wheel", "touchmove"]) {
    scroller.addEventListener(name, () => { if (current) current.follow = false; }, { passive: true });
  }
  $("new-conversation").addEventListener("click", () => {
    startNew(true);
    input.focus();
  });
  shareButton.addEventListener("click", async () => {
    if (!conversationId) return;
    const url = location.origin + "/c/" + encodeURIComponent(conversationId);
    say((await copyText(url)) ? "Link copied: " + url : "Copy this link: " + url);
  });
  window.addEventListener("popstate", route);
  $("panel-close").addEventListener("click", closePanel);
  const toggle = $("convs-toggle");
  const setDrawer = (open) => {
    document.body.classList.toggle("convs-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) (document.querySelector("#conv-list a") || $("convs-close")).focus();
    else toggle.focus();
  };
  toggle.addEventListener("click", () => setDrawer(!document.body.classList.contains("convs-open")));
  $("convs-close").addEventListener("click", () => setDrawer(false));
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || document.querySelector("dialog[open]")) return;
    if (document.body.classList.contains("convs-open")) setDrawer(false);
    else closePanel();
  });

  // ------------------------------------------------------------------ what the corpus holds
  async function loadCorpus() {
    try {
      const data = await getJSON("/api/outlets", { prompt: false });
      outlets = data.outlets || [];
      $("outlet-options").replaceChildren(...outlets.map((o) => el("option", { value: o.name })));
    } catch (_) { /* no list: the typed outlet is sent as it is */ }
    try {
      const lib = await getJSON("/api/library", { prompt: false });
      const dates = lib.articles.map((a) => a.published).filter(Boolean).sort();
      $("corpus-summary").textContent = lib.total + (lib.total === 1 ? " article" : " articles")
        + (outlets.length ? " from " + outlets.length + (outlets.length === 1 ? " outlet" : " outlets") : "")
        + (dates.length ? ", " + humanDate(dates[0]) + " to " + humanDate(dates[dates.length - 1]) : "") + ".";
    } catch (_) { /* the summary is optional */ }
    try {
      const facets = await getJSON("/api/positions/facets", { prompt: false });
      const picks = (facets.actors || []).filter((a) => a.topics && a.topics.length).slice(0, 3);
      const list = $("suggestion-list");
      list.replaceChildren(...picks.map((a) => {
        const q = "What did " + a.name + " say about " + a.topics[0] + "?";
        return el("li", {}, el("button", { type: "button", class: "suggestion",
          onclick: () => { input.value = q; updateCounter(); form.requestSubmit(); } }, q));
      }));
      $("suggestions").hidden = picks.length === 0;
    } catch (_) { /* suggestions are optional */ }
  }

  updateCounter();
  route();
  refreshList();
  loadCorpus();
})();
