// Shared helpers: building elements (text is always set as text, never parsed as HTML), calling the API with
// the signed-in key, reading server-sent events, formatting.

export const session = {
  get key() { return sessionStorage.getItem("quarry.key") || ""; },
  set key(value) {
    if (value) sessionStorage.setItem("quarry.key", value);
    else sessionStorage.removeItem("quarry.key");
  },
  me: null,
};

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style") Object.assign(el.style, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(callback) { onUnauthorized = callback; }

function headers(extra = {}) {
  return { Authorization: `Bearer ${session.key}`, ...extra };
}

async function failure(response) {
  let code = "http_" + response.status;
  let message = response.statusText || "request failed";
  try {
    const body = await response.json();
    if (body.error) ({ code, message } = body.error);
    else if (body.detail) message = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch { /* not JSON */ }
  if (response.status === 401) onUnauthorized();
  return new ApiError(response.status, code, message);
}

function urlOf(path, query) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

export async function api(path, { method = "GET", body, query, signal } = {}) {
  const url = urlOf(path, query);
  const init = { method, headers: headers(), signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

// GET a binary resource (an image) with the key: an object URL for it (revoke it when done).
export async function apiObjectUrl(path, query) {
  const response = await fetch(urlOf(path, query), { headers: headers() });
  if (!response.ok) throw await failure(response);
  return URL.createObjectURL(await response.blob());
}

// POST and read server-sent events: onEvent(name, data) for each; resolves when the stream ends.
export async function stream(path, body, onEvent, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// Upload with progress (fetch cannot report upload progress): resolves to the JSON response.
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Authorization", `Bearer ${session.key}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* empty */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.error?.code || "upload_failed", body?.error?.message || xhr.statusText));
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "the upload did not reach the server"));
    xhr.send(form);
  });
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  const item = h("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, error instanceof ApiError ? `${error.message} (${error.code})` : String(error));
}

// A modal confirmation (<dialog>): resolves true when confirmed.
export function confirmDialog(message, action = "Delete") {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, message),
      h("form", { method: "dialog", class: "row" },
        h("button", { value: "cancel", class: "secondary" }, "Cancel"),
        h("button", { value: "ok", class: "danger" }, action)));
    dialog.addEventListener("close", () => { resolve(dialog.returnValue === "ok"); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export const fmt = {
  time: (epoch) => (epoch ? new Date(epoch * 1000).toLocaleString() : "—"),
  ms: (seconds) => `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 0)} ms`,
  num: (value, digits = 3) => (value === null || value === undefined || Number.isNaN(value) ? "—" : Number(value).toFixed(digits)),
  usd: (value) => (value ? `$${value.toFixed(value < 0.01 ? 5 : 3)}` : "$0"),
};

export function loading(label = "Loading…") {
  return h("p", { class: "muted", "aria-busy": "true" }, label);
}

export function page(title, ...children) {
  document.title = `${title} · Quarry`;
  return [h("h1", {}, title), ...children];
}
