// Shared helpers. Article text is untrusted: everything is built with
// createElement/textContent; no HTML string ever reaches the DOM.
"use strict";

const QA = (() => {
  const KEY_STORAGE = "qa_api_key";
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  let keyPrompt = null; // one pending prompt shared by concurrent requests

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function authHeaders() {
    const key = localStorage.getItem(KEY_STORAGE);
    return key ? { "Authorization": "Bearer " + key } : {};
  }

  function askForKey() {
    if (keyPrompt) return keyPrompt;
    keyPrompt = new Promise((resolve) => {
      const dialog = document.getElementById("key-dialog");
      const input = document.getElementById("key-input");
      const form = document.getElementById("key-form");
      if (!dialog || typeof dialog.showModal !== "function") {
        resolve(window.prompt("API key") || "");
        return;
      }
      input.value = "";
      const done = () => {
        form.removeEventListener("submit", onSubmit);
        dialog.removeEventListener("cancel", onCancel);
        dialog.close();
      };
      const onSubmit = (ev) => { ev.preventDefault(); done(); resolve(input.value.trim()); };
      const onCancel = () => { done(); resolve(""); };
      form.addEventListener("submit", onSubmit);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
      input.focus();
    }).then((key) => {
      keyPrompt = null;
      if (key) localStorage.setItem(KEY_STORAGE, key);
      return key;
    });
    return keyPrompt;
  }

  // fetch() with the stored key; on 401 asks for a key once and retries once.
  // `prompt: false` is for background loads: they answer 401 rather than interrupt with a dialog.
  async function apiFetch(path, options = {}) {
    const { prompt = true, ...init } = options;
    const send = () => fetch(path, { ...init, headers: { ...(init.headers || {}), ...authHeaders() } });
    let response = await send();
    if (response.status === 401 && prompt) {
      localStorage.removeItem(KEY_STORAGE);
      if (await askForKey()) response = await send();
    }
    return response;
  }

  // GET a JSON body; throws an Error whose message is the server's sentence (and .status).
  async function getJSON(path, options = {}) {
    const response = await apiFetch(path, options);
    if (!response.ok) {
      const err = new Error(await errorText(response));
      err.status = response.status;
      throw err;
    }
    return response.json();
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (typeof body.detail === "string") return body.detail;
      return JSON.stringify(body.detail);
    } catch (_) {
      return response.status + " " + response.statusText;
    }
  }

  // One file as multipart field "file", with upload progress (fetch cannot report it).
  function uploadFile(path, file, onProgress) {
    const once = () => new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener("progress", (ev) => {
        if (ev.lengthComputable) onProgress(ev.loaded / ev.total);
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        resolve({ status: xhr.status, body });
      });
      xhr.addEventListener("error", () => reject(new Error("the upload failed (network)")));
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
    return once().then(async (result) => {
      if (result.status !== 401) return result;
      localStorage.removeItem(KEY_STORAGE);
      return (await askForKey()) ? once() : result;
    });
  }

  // Parses a text/event-stream body; calls onEvent(name, data) for each event.
  async function readSSE(response, onEvent, signal) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const flush = (block) => {
      let name = "message";
      const data = [];
      for (const line of block.split(/\r\n|\r|\n/)) {
        if (line.startsWith(":") || line === "") continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) onEvent(name, data.join("\n"));
    };
    for (;;) {
      if (signal && signal.aborted) { await reader.cancel(); return; }
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let match;
      while ((match = /\r\n\r\n|\n\n|\r\r/.exec(buffer))) {
        flush(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    }
    if (buffer.trim()) flush(buffer);
  }

  function articleHref(articleId, paragraphId, start, end) {
    let href = "/articles/" + encodeURIComponent(articleId);
    if (Number.isInteger(start) && Number.isInteger(end) && end > start) href += "?hl=" + start + "-" + end;
    if (paragraphId) href += "#" + encodeURIComponent(paragraphId);
    return href;
  }

  // Paragraph text with text[start:end] wrapped in <mark>; offsets are checked, never trusted.
  function highlighted(container, text, start, end) {
    container.replaceChildren();
    const ok = Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= text.length;
    if (!ok) { container.textContent = text; return null; }
    const mark = el("mark", { text: text.slice(start, end) });
    container.append(text.slice(0, start), mark, text.slice(end));
    return mark;
  }

  function metaLine(parts) {
    return parts.filter((p) => p !== null && p !== undefined && String(p).trim() !== "").join(" · ");
  }

  // "2024-12-03" -> "3 December 2024"; "2024-12" -> "December 2024"; "--12-03" (year unknown) -> "3 December".
  function humanDate(iso) {
    if (!iso) return "";
    const yearless = iso.startsWith("--");
    const parts = (yearless ? iso.slice(2) : iso).split("-").map(Number);
    if (yearless) {
      const [month, day] = parts;
      if (!(month >= 1 && month <= 12)) return iso;
      return day ? day + " " + MONTHS[month - 1] : MONTHS[month - 1];
    }
    const [year, month, day] = parts;
    if (!month) return String(year);
    if (!(month >= 1 && month <= 12)) return iso;
    return (day ? day + " " : "") + MONTHS[month - 1] + " " + year;
  }

  function monthName(month) { return MONTHS[month - 1] || ""; }

  // A modal yes/no question built from text; resolves true when confirmed.
  function confirmDialog(message, confirmLabel) {
    return new Promise((resolve) => {
      const yes = el("button", { type: "submit", class: "danger", value: "yes" }, confirmLabel);
      const no = el("button", { type: "button", class: "secondary" }, "Cancel");
      const form = el("form", { method: "dialog" }, el("p", { class: "confirm-text" }, message),
        el("div", { class: "row" }, no, " ", yes));
      const dialog = el("dialog", { class: "confirm", "aria-label": "Confirm" }, form);
      const opener = document.activeElement;
      let answer = false;
      form.addEventListener("submit", (ev) => { ev.preventDefault(); answer = true; dialog.close(); });
      no.addEventListener("click", () => dialog.close());
      dialog.addEventListener("close", () => {
        dialog.remove();
        if (opener && opener.isConnected) opener.focus();
        resolve(answer);
      });
      document.body.append(dialog);
      dialog.showModal();
      no.focus(); // the safe choice has the focus
    });
  }

  // Copies text; falls back to a hidden textarea where the Clipboard API is unavailable.
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
      area.value = text;
      document.body.append(area);
      area.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
      area.remove();
      return ok;
    }
  }

  // Hover/focus preview: `build()` returns the nodes to show beside `target`.
  const preview = (() => {
    let owner = null;
    const box = () => document.getElementById("preview");
    function hide() {
      const node = box();
      if (!node || !owner) return;
      owner.removeAttribute("aria-describedby");
      owner = null;
      node.hidden = true;
      node.replaceChildren();
    }
    function show(target, build) {
      const node = box();
      if (!node) return;
      owner = target;
      node.replaceChildren(...build());
      node.hidden = false;
      target.setAttribute("aria-describedby", "preview");
      const r = target.getBoundingClientRect();
      const w = node.offsetWidth;
      const h = node.offsetHeight;
      const left = Math.max(8, Math.min(r.left, window.innerWidth - w - 8));
      const below = r.bottom + 6 + h <= window.innerHeight;
      node.style.left = left + "px";
      node.style.top = (below ? r.bottom + 6 : Math.max(8, r.top - h - 6)) + "px";
    }
    function attach(target, build) {
      target.addEventListener("mouseenter", () => show(target, build));
      target.addEventListener("focus", () => show(target, build));
      target.addEventListener("mouseleave", () => { if (document.activeElement !== target) hide(); });
      target.addEventListener("blur", hide);
    }
    document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") hide(); });
    document.addEventListener("scroll", hide, true);
    return { attach, hide };
  })();

  // Preview content of a cited or stated passage: title, outlet and date, the quote.
  function quotePreview(title, meta, quote) {
    return [el("strong", { class: "preview-title" }, title || "Untitled"),
      meta ? el("span", { class: "preview-meta" }, meta) : null,
      quote ? el("blockquote", { class: "preview-quote" }, quote) : null].filter(Boolean);
  }

  return {
    el, apiFetch, getJSON, errorText, uploadFile, readSSE, articleHref, highlighted, metaLine, humanDate,
    monthName, confirmDialog, copyText, preview, quotePreview, askForKey,
  };
})();
