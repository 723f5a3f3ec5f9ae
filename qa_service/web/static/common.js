// Shared helpers. Article text is untrusted: everything is built with
// createElement/textContent; no HTML string ever reaches the DOM.
"use strict";

const QA = (() => {
  const KEY_STORAGE = "qa_api_key";
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
      if (child === null || child === undefined) continue;
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
  async function apiFetch(path, options = {}) {
    const send = () => fetch(path, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
    let response = await send();
    if (response.status === 401) {
      localStorage.removeItem(KEY_STORAGE);
      if (await askForKey()) response = await send();
    }
    return response;
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

  return { el, apiFetch, errorText, readSSE, articleHref, highlighted, metaLine, askForKey };
})();
