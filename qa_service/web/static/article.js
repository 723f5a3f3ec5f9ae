// Article view: paragraphs carry their ids as anchors; #<paragraph_id> is scrolled to and highlighted.
"use strict";

(() => {
  const { el, apiFetch, errorText, highlighted, metaLine } = QA;
  const articleId = decodeURIComponent(location.pathname.replace(/^\/articles\//, "").replace(/\/$/, ""));

  function highlightTarget() {
    document.querySelectorAll(".para-item.target").forEach((p) => {
      p.classList.remove("target");
      p.removeAttribute("aria-current");
    });
    if (!location.hash) return;
    const id = decodeURIComponent(location.hash.slice(1));
    const target = document.getElementById(id);
    if (!target) return;
    target.classList.add("target");
    target.setAttribute("aria-current", "true");
    const hl = new URLSearchParams(location.search).get("hl");
    const m = hl && /^(\d+)-(\d+)$/.exec(hl);
    if (m) {
      const textNode = target.querySelector(".para-text");
      highlighted(textNode, textNode.textContent, Number(m[1]), Number(m[2]));
    }
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }

  async function load() {
    const box = document.getElementById("article");
    const errorBox = document.getElementById("article-error");
    let response;
    try {
      response = await apiFetch("/api/articles/" + encodeURIComponent(articleId));
    } catch (err) {
      response = null;
      errorBox.textContent = "Could not reach the server: " + err.message;
    }
    if (!response || !response.ok) {
      if (response) errorBox.textContent = await errorText(response);
      errorBox.hidden = false;
      document.getElementById("article-title").textContent = "Article not available";
      box.setAttribute("aria-busy", "false");
      return;
    }
    const a = await response.json();
    document.title = a.title + " - News QA";
    document.getElementById("article-title").textContent = a.title;
    document.getElementById("article-meta").textContent =
      metaLine([a.source, a.author, a.published ? QA.humanDate(a.published) : null, a.category]);
    const bodyBox = document.getElementById("article-body");
    let heading = null;
    for (const p of a.paragraphs) {
      if (p.heading && p.heading !== heading) bodyBox.append(el("h2", { class: "para-heading" }, p.heading));
      heading = p.heading;
      bodyBox.append(el("section", { class: "para-item", id: p.paragraph_id, tabindex: "-1" },
        el("a", { class: "para-anchor", href: "#" + encodeURIComponent(p.paragraph_id),
                  "aria-label": "Link to paragraph " + p.number }, "¶" + p.number),
        el("p", { class: "para-text" }, p.text)));
    }
    if (a.url && /^https?:\/\//i.test(a.url)) {
      bodyBox.append(el("p", { class: "meta" }, "Original: ", el("a", { href: a.url, rel: "noopener noreferrer" }, a.url)));
    }
    box.setAttribute("aria-busy", "false");
    highlightTarget();
  }

  window.addEventListener("hashchange", highlightTarget);
  load();
})();
