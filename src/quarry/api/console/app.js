// The console shell: sign in with an API key, the navigation (only pages this key can use), the hash router.
import { api, clear, errorBox, h, session, whenUnauthorized } from "./lib.js";
import { chatPage } from "./chat.js";
import { knowledgePage } from "./kb.js";
import { tracesPage } from "./traces.js";
import { evalsPage } from "./evals.js";
import { approvalsPage, experimentsPage, promptsPage } from "./ops.js";

const PAGES = [
  { path: "chat", label: "Chat", render: chatPage },
  { path: "kb", label: "Knowledge base", render: knowledgePage },
  { path: "traces", label: "Traces", render: tracesPage },
  { path: "evals", label: "Evaluations", render: evalsPage, operator: true },
  { path: "prompts", label: "Prompts", render: promptsPage, operator: true },
  { path: "experiments", label: "Experiments", render: experimentsPage, operator: true },
  { path: "approvals", label: "Approvals", render: approvalsPage },
];

const main = document.getElementById("main");
let current = null; // the page's cleanup (stops polling, aborts streams)

function allowed() {
  return PAGES.filter((p) => !p.operator || session.me?.operator);
}

function renderNav(active) {
  const list = document.querySelector("#nav ul");
  clear(list, allowed().map((p) =>
    h("li", {}, h("a", { href: `#/${p.path}`, "aria-current": p.path === active ? "page" : false }, p.label))));
  const who = document.querySelector(".who");
  clear(who, session.me
    ? [h("span", { class: "muted", title: `principals: ${session.me.principals.join(", ")}` },
        `${session.me.key_id} · ${session.me.scope}`),
       h("button", { class: "secondary small", onclick: signOut }, "Sign out")]
    : []);
}

function signOut() {
  session.key = "";
  session.me = null;
  location.hash = "#/login";
}

function loginPage() {
  const input = h("input", { id: "key", name: "key", type: "password", autocomplete: "current-password", required: true,
    placeholder: "qk_…", "aria-describedby": "key-help" });
  const status = h("div", { role: "alert" });
  const form = h("form", { class: "card login", onsubmit: async (event) => {
    event.preventDefault();
    session.key = input.value.trim();
    try {
      session.me = await api("/v1/keys/me");
      location.hash = "#/chat";
    } catch (error) {
      session.key = "";
      clear(status, errorBox(error));
    }
  } },
  h("h1", {}, "Sign in to Quarry"),
  h("label", { for: "key" }, "API key"), input,
  h("p", { id: "key-help", class: "muted" },
    "A key from `quarry keys create`. It stays in this tab only; every page shows what this key may see."),
  h("button", { type: "submit" }, "Sign in"), status);
  renderNav(null);
  clear(main, form);
  input.focus();
}

async function route() {
  if (current) current();
  current = null;
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  if (!session.key || name === "login") return loginPage();
  if (!session.me) {
    try {
      session.me = await api("/v1/keys/me");
    } catch {
      return signOut();
    }
  }
  const found = allowed().find((p) => p.path === name) || allowed()[0];
  if (found.path !== name) {
    location.replace(`#/${found.path}`);
    return;
  }
  renderNav(found.path);
  document.querySelector("#nav").classList.remove("open");
  document.querySelector("button.menu").setAttribute("aria-expanded", "false");
  clear(main);
  try {
    current = (await found.render(main, rest.map(decodeURIComponent))) || null;
  } catch (error) {
    clear(main, h("h1", {}, found.label), errorBox(error));
  }
  main.focus({ preventScroll: true });
}

whenUnauthorized(() => { if (session.key) signOut(); });
document.querySelector("button.menu").addEventListener("click", (event) => {
  const nav = document.querySelector("#nav");
  const open = nav.classList.toggle("open");
  event.currentTarget.setAttribute("aria-expanded", String(open));
});
window.addEventListener("hashchange", route);
route();
