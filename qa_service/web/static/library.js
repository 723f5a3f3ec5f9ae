// Library page: the articles in the index (search, outlet, date, paragraphs), upload by
// drag and drop or file picker (several files, progress, per-file result), delete with confirmation.
"use strict";

(() => {
  const { el, apiFetch, getJSON, errorText, uploadFile, articleHref, humanDate, confirmDialog } = QA;
  const $ = (id) => document.getElementById(id);
  const rowsBox = $("article-rows");
  const search = $("search");
  const status = $("status");
  const dropzone = $("dropzone");
  const picker = $("files");
  const uploads = $("uploads");
  let articles = [];

  const plural = (n, word) => n + " " + word + (n === 1 ? "" : "s");

  function matches(a, words) {
    const hay = [a.title, a.source, a.published, a.published ? humanDate(a.published) : "", a.article_id]
      .join(" ").toLowerCase();
    return words.every((w) => hay.includes(w));
  }

  function render() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = articles.filter((a) => matches(a, words));
    rowsBox.replaceChildren(...shown.map(row));
    status.textContent = words.length
      ? shown.length + " of " + plural(articles.length, "article") + " match."
      : articles.length ? plural(articles.length, "article") + "." : "No articles yet: add some above.";
  }

  function row(a) {
    const title = a.title || a.article_id;
    return el("tr", { "data-id": a.article_id },
      el("td", { "data-label": "Title" }, el("a", { href: articleHref(a.article_id) }, title)),
      el("td", { "data-label": "Outlet" }, a.source || "\u2014"),
      el("td", { "data-label": "Date" }, a.published ? el("time", { datetime: a.published }, humanDate(a.published)) : "\u2014"),
      el("td", { "data-label": "Paragraphs", class: "num" }, String(a.paragraph_count)),
      el("td", { class: "actions" }, el("button", {
        type: "button", class: "secondary small-btn delete",
        "aria-label": "Delete \u201c" + title + "\u201d", onclick: (ev) => remove(a, ev.currentTarget),
      }, "Delete")));
  }

  async function load() {
    status.removeAttribute("data-loaded");
    status.textContent = "Loading...";
    try {
      const data = await getJSON("/api/library");
      articles = data.articles || [];
      render();
    } catch (err) {
      status.textContent = "Could not load the articles: " + err.message;
    } finally {
      status.setAttribute("data-loaded", ""); // the end of a load (for tools and tests)
    }
  }

  async function remove(a, button) {
    const title = a.title || a.article_id;
    if (!(await confirmDialog("Delete \u201c" + title + "\u201d from the index? Answers will no longer cite it.",
      "Delete"))) return;
    const response = await apiFetch("/api/articles/" + encodeURIComponent(a.article_id), { method: "DELETE" });
    if (!response.ok) {
      status.textContent = "Could not delete \u201c" + title + "\u201d: " + (await errorText(response));
      return;
    }
    const tr = button.closest("tr");
    const next = tr && (tr.nextElementSibling || tr.previousElementSibling);
    articles = articles.filter((x) => x.article_id !== a.article_id);
    render();
    status.textContent = "Deleted \u201c" + title + "\u201d.";
    const focusRow = next && rowsBox.querySelector("tr[data-id=\"" + CSS.escape(next.dataset.id) + "\"] .delete");
    (focusRow || search).focus();
  }

  // One line per file: name, progress, then what the ingest report says.
  function describe(result) {
    const r = result.body || {};
    if (result.status === 201) {
      const parts = [];
      if (r.added && r.added.length) parts.push("added " + plural(r.added.length, "article"));
      if (r.updated && r.updated.length) parts.push("updated " + plural(r.updated.length, "article"));
      if (r.unchanged && r.unchanged.length) parts.push(plural(r.unchanged.length, "article") + " already up to date");
      if (r.paragraphs) parts.push(plural(r.paragraphs, "paragraph"));
      const errors = (r.failed || []).map(([where, why]) => where + ": " + why);
      return { ok: true, text: (parts.join(", ") || "nothing to add") + ".", errors };
    }
    const detail = r.detail ? (typeof r.detail === "string" ? r.detail : JSON.stringify(r.detail)) : "HTTP " + result.status;
    return { ok: false, text: detail, errors: [] };
  }

  // A large upload is ingested in the background: poll its job, showing its progress, until it
  // ends; then it reads like a direct answer (201 with the report, or the error's status).
  async function followJob(accepted, item) {
    const path = "/api/jobs/" + encodeURIComponent(accepted.job_id);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const job = await getJSON(path);
      const p = job.progress || {};
      if (job.status === "queued") {
        item.result.textContent = "Waiting for an earlier upload...";
      } else if (job.status === "running") {
        const of = p.articles_total ? p.articles_done + " of " + plural(p.articles_total, "article") : "reading";
        const chunks = p.chunks_total ? ", " + p.chunks_done + " of " + p.chunks_total + " passages embedded" : "";
        item.result.textContent = "Ingesting: " + of + chunks + "...";
        const share = p.chunks_total ? (p.articles_done + p.chunks_done) / (p.articles_total + p.chunks_total)
          : (p.articles_total ? p.articles_done / p.articles_total : 0);
        item.bar.value = share;
      } else if (job.error && !job.result) {
        return { status: job.error.status, body: { detail: job.error.detail } };
      } else if (job.error) {
        return { status: job.error.status, body: { ...job.result, detail: job.error.detail } };
      } else {
        return { status: 201, body: job.result };
      }
    }
  }

  async function uploadAll(files) {
    if (!files.length) return;
    const items = files.map((file) => {
      const bar = el("progress", { max: "1", value: "0", "aria-label": "Upload of " + file.name });
      const result = el("span", { class: "upload-result" }, "Waiting...");
      const li = el("li", { class: "upload" }, el("span", { class: "upload-name" }, file.name), bar, result);
      uploads.prepend(li);
      return { file, li, bar, result };
    });
    let changed = false;
    for (const item of items) { // one at a time: the server ingests one file at a time anyway
      item.result.textContent = "Uploading...";
      try {
        let res = await uploadFile("/api/articles", item.file, (share) => { item.bar.value = share; });
        if (res.status === 202 && res.body && res.body.job_id) res = await followJob(res.body, item);
        item.bar.value = 1;
        const { ok, text, errors } = describe(res);
        item.li.classList.add(ok ? "done" : "failed");
        item.result.replaceChildren(el("strong", {}, ok ? "Done: " : "Failed: "), text);
        if (errors.length) item.li.append(el("ul", { class: "upload-errors" }, ...errors.map((e) => el("li", {}, e))));
        changed = changed || ok;
      } catch (err) {
        item.li.classList.add("failed");
        item.result.replaceChildren(el("strong", {}, "Failed: "), err.message);
      }
    }
    if (changed) await load();
  }

  if (document.body.dataset.writes === "closed") {
    dropzone.hidden = true;
    $("upload-closed").hidden = false;
  }
  picker.addEventListener("change", () => {
    uploadAll([...picker.files]);
    picker.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (ev) => { ev.preventDefault(); dropzone.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, () => dropzone.classList.remove("over"));
  }
  dropzone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    uploadAll([...(ev.dataTransfer ? ev.dataTransfer.files : [])]);
  });
  search.addEventListener("input", render);
  load();
})();
