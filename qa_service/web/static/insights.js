// Positions and timeline views; both render an empty state when the endpoint is missing (404).
"use strict";

(() => {
  const { el, apiFetch, errorText, articleHref, metaLine } = QA;
  const view = document.body.dataset.view; // "positions" | "timeline"
  const form = document.getElementById("insight-form");
  const results = document.getElementById("results");
  const status = document.getElementById("status");

  function quoteBlock(item) {
    return item.quote ? el("blockquote", { class: "para" }, item.quote) : null;
  }

  function sourceLink(item) {
    if (!item.article_id) return null;
    return el("a", { class: "open-article", href: articleHref(item.article_id, item.paragraph_id, item.start, item.end) },
      item.title || item.article_id);
  }

  function position(p) {
    return el("li", { class: "card" },
      el("p", { class: "card-head" },
        el("strong", {}, p.actor || "Someone"), " ", p.verb || "said",
        p.stance ? el("span", { class: "badge stance-" + String(p.stance).toLowerCase().replace(/[^a-z]/g, "") }, p.stance) : null,
        p.direct === false ? el("span", { class: "badge" }, "reported") : null),
      quoteBlock(p),
      el("p", { class: "meta" }, metaLine([p.topic, p.published]), " ", sourceLink(p)));
  }

  function event(e) {
    return el("li", { class: "card" },
      el("p", { class: "card-head" }, el("time", { datetime: e.date || "" }, e.date_text || e.date || "undated"),
        " ", e.description || ""),
      el("p", { class: "meta" }, metaLine([(e.actors || []).join(", "), e.place])),
      quoteBlock(e),
      el("p", { class: "meta" }, sourceLink(e)));
  }

  async function load() {
    const params = new URLSearchParams();
    for (const name of ["actor", "topic"]) {
      const value = document.getElementById(name).value.trim();
      if (value) params.set(name, value);
    }
    history.replaceState(null, "", params.toString() ? "?" + params : location.pathname);
    results.replaceChildren();
    status.removeAttribute("data-loaded");
    status.textContent = "Loading...";
    let response;
    try {
      response = await apiFetch("/api/" + view + (params.toString() ? "?" + params : ""));
    } catch (err) {
      status.textContent = "Could not reach the server: " + err.message;
      return;
    }
    if (response.status === 404) {
      status.textContent = "This view is not available on this server yet.";
      return;
    }
    if (!response.ok) {
      status.textContent = await errorText(response);
      return;
    }
    const data = await response.json();
    const items = (view === "positions" ? data.positions : data.events) || [];
    for (const item of items) results.append(view === "positions" ? position(item) : event(item));
    status.textContent = items.length ? items.length + " found." : "Nothing found for this choice.";
  }

  const initial = new URLSearchParams(location.search);
  for (const name of ["actor", "topic"]) document.getElementById(name).value = initial.get(name) || "";
  // data-loaded marks the end of a load (for people using tools, and for tests).
  const run = () => load().finally(() => status.setAttribute("data-loaded", ""));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
  run();
})();
