// Chat: streamed, cited answers; a conversation's earlier turns go with each question (follow-ups are condensed
// server-side); citations open the source at the cited span; feedback goes to POST /v1/feedback.
import { api, clear, errorBox, h, session, stream, toast } from "./lib.js";
import { showSource } from "./viewer.js";

const HISTORY_TURNS = 6;

function storeKey() { return `quarry.chats.${session.me.key_id}`; }
function loadChats() {
  try { return JSON.parse(localStorage.getItem(storeKey())) || []; } catch { return []; }
}
function saveChats(chats) { localStorage.setItem(storeKey(), JSON.stringify(chats.slice(0, 30))); }
function newChat(collection) {
  return { id: crypto.randomUUID(), title: "New conversation", collection, turns: [] };
}

export async function chatPage(main) {
  const collections = await api("/v1/collections");
  const chats = loadChats();
  let chat = chats[0] && chats[0].turns.length === 0 ? chats[0] : null;
  let controller = null;

  const picker = h("select", { id: "collection", name: "collection" },
    collections.map((c) => h("option", { value: c.name }, c.name)));
  const filter = h("input", { id: "filter", name: "filter", placeholder: '{"eq": {"field": "lang", "value": "en"}}',
    "aria-describedby": "filter-help" });
  const k = h("input", { id: "k", name: "k", type: "number", min: 1, max: 50, placeholder: "default",
    class: "narrow" });
  const list = h("ol", { class: "messages", "aria-label": "Conversation" });
  const question = h("textarea", { id: "question", name: "question", rows: 2, required: true,
    placeholder: "Ask a question about your documents", "aria-label": "Question" });
  const ask = h("button", { type: "submit" }, "Ask");
  const stop = h("button", { type: "button", class: "secondary", disabled: true, onclick: () => controller?.abort() },
    "Stop");
  const history = h("ul", { class: "chats" });
  const viewer = h("aside", { class: "viewer", "aria-label": "Source", tabindex: "0", hidden: true });

  function current() {
    if (!chat) {
      chat = newChat(picker.value);
      chats.unshift(chat);
    }
    return chat;
  }

  function renderHistory() {
    clear(history, chats.map((c) => h("li", {},
      h("button", { class: c === chat ? "link active" : "link", "aria-current": c === chat ? "true" : false,
        onclick: () => { chat = c; picker.value = c.collection; renderChat(); renderHistory(); } }, c.title))));
  }

  function renderChat() {
    clear(list, (chat?.turns || []).map((turn) => turnView(turn, viewer)));
    list.lastElementChild?.scrollIntoView({ block: "end" });
  }

  async function submit(event) {
    event.preventDefault();
    const text = question.value.trim();
    if (!text || controller) return;
    let where;
    try { where = filter.value.trim() ? JSON.parse(filter.value) : undefined; } catch {
      toast("The filter is not valid JSON", "error");
      filter.focus();
      return;
    }
    const active = current();
    active.collection = picker.value;
    if (!active.turns.length) active.title = text.slice(0, 60);
    const earlier = active.turns.slice(-HISTORY_TURNS).flatMap((t) =>
      [{ role: "user", content: t.question }, { role: "assistant", content: (t.answer?.text || "").slice(0, 4000) }]);
    const turn = { question: text, collection: picker.value, answer: null, streamed: "" };
    active.turns.push(turn);
    question.value = "";
    const view = turnView(turn, viewer);
    list.append(view);
    view.scrollIntoView({ block: "end" });
    renderHistory();
    controller = new AbortController();
    ask.disabled = true;
    stop.disabled = false;
    const body = { collection: picker.value, question: text, stream: true, session: active.id, history: earlier };
    if (where) body.filter = where;
    if (k.value) body.k = Number(k.value);
    try {
      await stream("/v1/answer", body, (name, data) => {
        if (name === "token") turn.streamed += data.text;
        else if (name === "revision") turn.streamed = data.text;
        else if (name === "done") turn.answer = data;
        else if (name === "error") turn.error = data.error?.message || "the answer failed";
        refresh(view, turn, viewer);
      }, controller.signal);
    } catch (error) {
      turn.error = error.name === "AbortError" ? null : error.message;
      turn.stopped = error.name === "AbortError";
      refresh(view, turn, viewer);
    } finally {
      controller = null;
      ask.disabled = false;
      stop.disabled = true;
      delete turn.streamed;
      saveChats(chats);
      question.focus();
    }
  }

  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  const form = h("form", { class: "ask", onsubmit: submit }, question, h("div", { class: "row" }, ask, stop));
  const start = h("button", { class: "secondary", onclick: () => {
    chat = null; renderChat(); renderHistory(); question.focus();
  } }, "New conversation");
  clear(main, h("div", { class: "chat-layout" },
    h("nav", { class: "chat-side", "aria-label": "Conversations" }, start, history),
    h("section", { class: "chat-main", "aria-label": "Chat" },
      h("h1", { class: "visually-hidden" }, "Chat"),
      collections.length ? null : h("p", { class: "notice" }, "No collection is visible to this key yet: upload documents on the Knowledge base page."),
      h("div", { class: "row wrap controls" },
        h("label", { for: "collection" }, "Collection"), picker,
        h("label", { for: "k" }, "Passages"), k,
        h("details", {}, h("summary", {}, "Filter"),
          h("label", { for: "filter" }, "Metadata filter (JSON)"), filter,
          h("p", { id: "filter-help", class: "muted" }, "eq, ne, in, any_of, range, and, or, not — as in the search API."))),
      list, form),
    viewer));
  document.title = "Chat · Quarry";
  if (chat) picker.value = chat.collection;
  renderChat();
  renderHistory();
  question.focus();
  return () => controller?.abort();
}

function turnView(turn, viewer) {
  const item = h("li", { class: "turn" });
  refresh(item, turn, viewer);
  return item;
}

function refresh(item, turn, viewer) {
  const answer = turn.answer;
  const body = h("div", { class: "answer", "aria-live": answer ? "off" : "polite", "aria-busy": answer ? "false" : "true" });
  if (answer) renderAnswer(body, answer, turn, viewer);
  else if (turn.error) body.append(errorBox(turn.error));
  else if (turn.stopped) body.append(h("p", { class: "muted" }, turn.streamed || "", h("em", {}, " (stopped)")));
  else body.append(h("p", { class: "streaming" }, turn.streamed || "…"));
  clear(item, h("p", { class: "question" }, h("span", { class: "visually-hidden" }, "You: "), turn.question), body);
}

function renderAnswer(body, answer, turn, viewer) {
  const kind = answer.refused ? "refused" : answer.abstained ? "abstained" : "";
  if (kind) body.classList.add(kind);
  const label = answer.refused ? "Blocked by a guard" : answer.abstained ? "No answer in the sources" : null;
  if (label) body.append(h("p", { class: "badge " + kind }, label));
  body.append(h("p", { class: "text" }, withCitations(answer, turn, viewer)));
  if (answer.note) body.append(h("p", { class: "muted small" }, answer.note));
  if (answer.citations.length) {
    body.append(h("ol", { class: "sources", "aria-label": "Sources" }, answer.citations.map((c) =>
      h("li", {}, h("button", { class: "link", onclick: () => showSource(viewer, turn.collection, c) },
        `[${c.number}] ${c.title || c.document_uri}${c.page ? ` — page ${c.page}` : ""}`)))));
  }
  const verdict = answer.supported ? "Supported by the cited spans" : "Not verified against the sources";
  body.append(h("div", { class: "row meta" },
    answer.abstained || answer.refused ? null : h("span", { class: answer.supported ? "ok" : "warn" }, verdict),
    answer.truncated ? h("span", { class: "warn" }, "cut off") : null,
    h("span", { class: "muted" }, `${(answer.took_ms / 1000).toFixed(1)} s · ${answer.model}`),
    answer.trace_id ? h("a", { href: `#/traces/${answer.trace_id}` }, "Trace") : null,
    answer.trace_id ? feedback(answer.trace_id) : null));
}

function withCitations(answer, turn, viewer) {
  const byNumber = new Map(answer.citations.map((c) => [c.number, c]));
  const parts = [];
  let last = 0;
  for (const match of answer.text.matchAll(/\[(\d+)\]/g)) {
    const citation = byNumber.get(Number(match[1]));
    if (!citation) continue;
    parts.push(answer.text.slice(last, match.index));
    parts.push(h("button", { class: "cite", "aria-label": `Source ${citation.number}: ${citation.title}`,
      onclick: () => showSource(viewer, turn.collection, citation) }, `[${citation.number}]`));
    last = match.index + match[0].length;
  }
  parts.push(answer.text.slice(last));
  return parts;
}

function feedback(traceId) {
  const group = h("span", { class: "row feedback", role: "group", "aria-label": "Was this answer helpful?" });
  for (const [rating, label] of [["up", "Helpful"], ["down", "Not helpful"]]) {
    group.append(h("button", { class: "secondary small",
      "aria-pressed": "false", onclick: async (event) => {
        const button = event.currentTarget;
        try {
          await api("/v1/feedback", { method: "POST", body: { trace_id: traceId, rating } });
          group.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", "false"));
          button.setAttribute("aria-pressed", "true");
          toast("Thanks — feedback recorded");
        } catch (error) { toast(error.message, "error"); }
      } }, label));
  }
  return group;
}
