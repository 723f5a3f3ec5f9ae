// Positions (stance table: actors down, topics across), an actor's stances over time, and the timeline.
// Every entry links to its paragraph; its sentence shows on hover or focus.
"use strict";

(() => {
  const { el, getJSON, articleHref, metaLine, humanDate, monthName, preview, quotePreview } = QA;
  const view = document.body.dataset.view; // "positions" | "actor" | "timeline"
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const results = $("results");
  const MAX_ROWS = 40; // actors shown when none is picked
  const NO_TOPIC = "other";

  const plural = (n, word) => n + " " + word + (n === 1 ? "" : "s");
  const clip = (text, n) => (text.length > n ? text.slice(0, n - 3).trimEnd() + "..." : text);
  const topicOf = (p) => p.topic || NO_TOPIC;

  function paragraphLink(item, label, cls) {
    const link = el("a", { class: cls || null, href: articleHref(item.article_id, item.paragraph_id, item.start, item.end) },
      label);
    preview.attach(link, () => quotePreview(item.title, item.published ? humanDate(item.published) : "", item.quote));
    return link;
  }

  // A view's load ends with data-loaded on the status line (for people using tools, and for tests).
  async function run(load) {
    status.removeAttribute("data-loaded");
    status.textContent = "Loading...";
    try {
      await load();
    } catch (err) {
      status.textContent = err.status === 404 ? "This view is not available on this server yet."
        : "Could not load: " + err.message;
    } finally {
      status.setAttribute("data-loaded", "");
    }
  }

  // ------------------------------------------------------------------ stance table
  function positionsView() {
    const params = new URLSearchParams(location.search);
    const picked = { actor: new Set(params.getAll("actor")), topic: new Set(params.getAll("topic")) };
    let facets = { actors: [], topics: [] };
    let rows = [];
    let loadedFor = null; // the actor choice `rows` were fetched for

    function syncUrl() {
      const q = new URLSearchParams();
      for (const a of picked.actor) q.append("actor", a);
      for (const t of picked.topic) q.append("topic", t);
      history.replaceState(null, "", q.toString() ? "?" + q : location.pathname);
    }

    function option(kind, item, label) {
      const box = el("input", { type: "checkbox", name: kind, value: item.name, checked: picked[kind].has(item.name) });
      box.addEventListener("change", () => {
        if (box.checked) picked[kind].add(item.name); else picked[kind].delete(item.name);
        syncUrl();
        run(refresh);
      });
      return el("label", { class: "option" }, box, " ", label, el("span", { class: "count" }, " " + item.count));
    }

    function renderOptions() {
      const needle = $("actor-filter").value.trim().toLowerCase();
      $("actor-options").replaceChildren(...facets.actors
        .filter((a) => !needle || a.name.toLowerCase().includes(needle) || picked.actor.has(a.name))
        .map((a) => option("actor", a, a.name)));
      const topics = facets.topics.filter((t) => t.name !== NO_TOPIC).concat(facets.topics.filter((t) => t.name === NO_TOPIC));
      $("topic-options").replaceChildren(...topics.map((t) => option("topic", t, t.name)));
    }

    function stanceItem(p) {
      const stance = (p.stances && p.stances.length ? p.stances : [p.stance]).join(" \u2026 ");
      return el("li", { class: "stance" },
        paragraphLink(p, p.verb_text || p.verb, "stance-verb"), " ",
        el("span", { class: "stance-text" }, "\u201c" + clip(stance, 110) + "\u201d"),
        p.direct ? null : el("span", { class: "badge" }, "reported"));
    }

    function renderTable() {
      // Topics by how many stances they have; stances no topic rule matched last.
      const topicOrder = facets.topics.map((t) => t.name).filter((t) => t !== NO_TOPIC).concat([NO_TOPIC]);
      const inTopics = (p) => !picked.topic.size || picked.topic.has(topicOf(p));
      const shown = rows.filter(inTopics);
      const topics = (picked.topic.size ? [...picked.topic] : [...new Set(shown.map(topicOf))])
        .sort((a, b) => topicOrder.indexOf(a) - topicOrder.indexOf(b));
      const byActor = new Map();
      for (const p of shown) {
        if (!byActor.has(p.actor)) byActor.set(p.actor, []);
        byActor.get(p.actor).push(p);
      }
      const actorOrder = facets.actors.map((a) => a.name);
      let actors = picked.actor.size ? [...picked.actor] : [...byActor.keys()];
      actors.sort((a, b) => actorOrder.indexOf(a) - actorOrder.indexOf(b));
      const total = actors.length;
      if (!picked.actor.size) actors = actors.slice(0, MAX_ROWS);
      const roles = new Map(facets.actors.map((a) => [a.name, a.role]));

      $("stance-head").replaceChildren(el("th", { scope: "col" }, "Actor"),
        ...topics.map((t) => el("th", { scope: "col" }, t)));
      results.replaceChildren(...actors.map((name) => {
        const mine = byActor.get(name) || [];
        return el("tr", {},
          el("th", { scope: "row", class: "actor-cell" },
            el("a", { href: "/positions/actor/" + encodeURIComponent(name) }, name),
            roles.get(name) ? el("span", { class: "meta role" }, roles.get(name)) : null),
          ...topics.map((t) => {
            const cell = mine.filter((p) => topicOf(p) === t);
            return el("td", { "data-label": t, class: cell.length ? null : "empty" },
              cell.length ? el("ul", { class: "stances" }, ...cell.map(stanceItem))
                : el("span", { "aria-label": "no stance" }, "\u2013"));
          }));
      }));
      $("stance-table").hidden = actors.length === 0;
      status.textContent = shown.length
        ? plural(shown.length, "stance") + " by " + plural(total, "actor") + " on " + plural(topics.length, "topic") + "."
          + (total > actors.length ? " Showing the " + actors.length + " actors with most stances: pick actors to see others." : "")
        : "Nothing found for this choice.";
    }

    async function refresh() {
      const key = [...picked.actor].sort().join("\u0000");
      if (key !== loadedFor) {
        const q = new URLSearchParams({ merge: "true" });
        for (const a of picked.actor) q.append("actor", a);
        const data = await getJSON("/api/positions?" + q);
        // An actor query also matches affiliates ("Russia" finds the Kremlin's spokesman): keep the rows asked for.
        rows = (data.positions || []).filter((p) => !picked.actor.size || picked.actor.has(p.actor));
        loadedFor = key;
      }
      renderTable();
    }

    $("actor-filter").addEventListener("input", renderOptions);
    $("clear-picks").addEventListener("click", () => {
      picked.actor.clear();
      picked.topic.clear();
      syncUrl();
      renderOptions();
      run(refresh);
    });
    $("insight-form").addEventListener("submit", (ev) => ev.preventDefault());
    run(async () => {
      facets = await getJSON("/api/positions/facets");
      renderOptions();
      await refresh();
    });
  }

  // ------------------------------------------------------------------ one actor over time
  function actorView() {
    const name = decodeURIComponent(location.pathname.replace(/^\/positions\/actor\//, "").replace(/\/$/, ""));
    $("actor-name").textContent = name;
    document.title = name + " - Positions - News QA";
    run(async () => {
      const data = await getJSON("/api/positions?" + new URLSearchParams({ actor: name, merge: "true" }));
      const all = data.positions || [];
      const own = all.filter((p) => p.actor === name);
      const items = (own.length ? own : all).slice().sort((a, b) =>
        String(a.published || "9999").localeCompare(String(b.published || "9999")));
      const first = items[0];
      $("actor-role").textContent = first ? metaLine([first.role, (first.affiliations || []).join(", ")]) : "";
      let lastKey = null;
      let list = null;
      results.replaceChildren();
      for (const p of items) {
        const key = (p.published || "") + "\u0000" + p.article_id;
        if (key !== lastKey) {
          list = el("ul", { class: "stances" });
          results.append(el("li", { class: "stance-day" },
            el("h2", { class: "sub" }, p.published ? el("time", { datetime: p.published }, humanDate(p.published)) : "Undated"),
            el("p", { class: "meta" }, el("a", { href: articleHref(p.article_id) }, p.title || p.article_id)), list));
          lastKey = key;
        }
        list.append(el("li", { class: "card" },
          el("p", { class: "card-head" }, paragraphLink(p, p.verb_text || p.verb, "stance-verb"),
            p.topic ? el("span", { class: "badge" }, p.topic) : null,
            p.direct ? null : el("span", { class: "badge" }, "reported")),
          el("blockquote", { class: "para" }, p.quote)));
      }
      status.textContent = items.length ? plural(items.length, "stance") + "." : "No stances of " + name + " found.";
    });
  }

  // ------------------------------------------------------------------ timeline
  function timelineView() {
    const actorSelect = $("actor");
    const topicSelect = $("topic");

    function fill(select, items) {
      const keep = select.value;
      select.replaceChildren(select.options[0],
        ...items.map((i) => el("option", { value: i.name }, i.name + " (" + i.count + ")")));
      select.value = keep;
    }

    function dateLabel(e) {
      if (e.precision === "year") return e.date.replace(/^--/, "");
      return humanDate(e.date);
    }

    function eventItem(e) {
      const label = dateLabel(e);
      const asWritten = e.date_text && e.date_text.toLowerCase() !== label.toLowerCase();
      const who = metaLine([(e.actors || []).join(", "), e.place]);
      return el("li", { class: "event" + (e.year_known ? "" : " yearless") },
        el("p", { class: "event-date" },
          el("time", { datetime: e.date }, label),
          asWritten ? el("span", { class: "as-written" }, " \u201c" + e.date_text + "\u201d") : null,
          e.year_known ? null : el("span", { class: "badge" }, "year unknown")),
        el("p", { class: "event-what" }, e.description || e.quote),
        el("p", { class: "meta" }, who ? who + " \u00b7 " : null, paragraphLink(e, e.title || e.article_id, "event-source")));
    }

    // Groups: a year, then its months; events dated to a year only come first in their year.
    function render(events) {
      results.replaceChildren();
      let yearBox = null;
      let yearKey = null;
      let monthKey = null;
      let list = null;
      for (const e of events) {
        const yk = e.year_known ? e.date.slice(0, 4) : "unknown";
        if (yk !== yearKey) {
          yearBox = el("section", { class: "tl-year" + (e.year_known ? "" : " yearless") },
            el("h2", { class: "tl-year-title" }, e.year_known ? yk : "Year not stated"));
          results.append(yearBox);
          yearKey = yk;
          monthKey = null;
          list = null;
        }
        const mk = e.precision === "year" ? "" : (e.year_known ? e.date.slice(5, 7) : e.date.slice(2, 4));
        if (mk !== monthKey || !list) {
          if (mk) yearBox.append(el("h3", { class: "tl-month" }, monthName(Number(mk)) + (e.year_known ? " " + yk : "")));
          list = el("ol", { class: "tl-events" });
          yearBox.append(list);
          monthKey = mk;
        }
        list.append(eventItem(e));
      }
    }

    async function refresh() {
      const q = new URLSearchParams();
      if (actorSelect.value) q.set("actor", actorSelect.value);
      if (topicSelect.value) q.set("topic", topicSelect.value);
      history.replaceState(null, "", q.toString() ? "?" + q : location.pathname);
      const data = await getJSON("/api/timeline" + (q.toString() ? "?" + q : ""));
      const events = data.events || [];
      render(events);
      const yearless = events.filter((e) => !e.year_known).length;
      status.textContent = events.length
        ? plural(events.length, "event") + (yearless ? ", " + yearless + " without a stated year" : "") + "."
        : "Nothing found for this choice.";
    }

    const initial = new URLSearchParams(location.search);
    for (const select of [actorSelect, topicSelect]) select.addEventListener("change", () => run(refresh));
    $("insight-form").addEventListener("submit", (ev) => { ev.preventDefault(); run(refresh); });
    run(async () => {
      try {
        const facets = await getJSON("/api/timeline/facets");
        fill(actorSelect, facets.actors || []);
        fill(topicSelect, facets.topics || []);
      } catch (_) { /* the lists are a convenience */ }
      for (const [name, select] of [["actor", actorSelect], ["topic", topicSelect]]) {
        const value = initial.get(name);
        if (value && ![...select.options].some((o) => o.value === value)) select.append(el("option", { value }, value));
        if (value) select.value = value;
      }
      await refresh();
    });
  }

  if (view === "positions") positionsView();
  else if (view === "actor") actorView();
  else timelineView();
})();
