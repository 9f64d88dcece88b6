// Prompts (versions, labels, promote, rollback), experiments (arms, status, stop) and agent approvals.
import { api, clear, confirmDialog, fmt, h, toast } from "./lib.js";

const enc = encodeURIComponent;

export async function promptsPage(main) {
  const prompts = await api("/v1/prompts");
  const text = h("pre", { class: "chunk-text", tabindex: "0", "aria-live": "polite" }, "Choose a version to read it.");
  async function show(name, version) {
    const p = await api(`/v1/prompts/${enc(name)}/versions/${version}`);
    clear(text, `# ${p.ref}${p.description ? ` — ${p.description}` : ""}\n\n[system]\n${p.system}\n\n[user]\n${p.user}`);
  }
  async function move(name, action, body) {
    try {
      const m = await api(`/v1/prompts/${enc(name)}/${action}`, { method: "POST", body });
      toast(`${name}: ${m.label} → v${m.version}`);
      promptsPage(main);
    } catch (error) { toast(error.message, "error"); }
  }
  document.title = "Prompts · Quarry";
  clear(main, h("h1", {}, "Prompts"),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Prompt", "Serves", "Labels", "Versions", "Experiment", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, prompts.map((p) => {
        const pick = h("select", { "aria-label": `Version of ${p.name}` }, p.versions.map((v) => h("option", { value: v }, `v${v}`)));
        pick.value = String(p.versions.at(-1));
        return h("tr", {},
          h("td", {}, p.name), h("td", { class: "mono" }, p.serves),
          h("td", {}, Object.entries(p.labels).map(([l, v]) => `${l}: v${v}`).join(", ") || "—"),
          h("td", {}, pick, " ", h("button", { class: "secondary small", onclick: () => show(p.name, pick.value) }, "Read")),
          h("td", {}, p.experiment || "—"),
          h("td", { class: "actions" },
            h("button", { class: "small", onclick: () => move(p.name, "promote", { version: Number(pick.value) }) }, "Promote"),
            h("button", { class: "secondary small", onclick: async () => {
              if (await confirmDialog(`Roll ${p.name} back to the version it served before?`, "Roll back")) move(p.name, "rollback", {});
            } }, "Roll back")));
      }))),
    text);
  return null;
}

export async function experimentsPage(main) {
  const experiments = await api("/v1/experiments");
  document.title = "Experiments · Quarry";
  clear(main, h("h1", {}, "Experiments"),
    experiments.length ? h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Name", "Prompt", "Arms", "Guard", "Status", "Started", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, experiments.map((e) => h("tr", {},
        h("td", {}, e.name), h("td", {}, e.prompt),
        h("td", {}, e.variants.map((v) => `${v.name} (${v.prompt}, ${v.weight})`).join(", ")),
        h("td", {}, `${e.guard_metric} ±${e.margin}`),
        h("td", {}, e.status, e.reason ? h("span", { class: "muted small" }, ` — ${e.reason}`) : ""),
        h("td", {}, fmt.time(e.created_at)),
        h("td", {}, e.status === "running" ? h("button", { class: "danger small", onclick: async () => {
          if (!(await confirmDialog(`Stop experiment ${e.name}? All traffic returns to the control.`, "Stop"))) return;
          try { await api(`/v1/experiments/${enc(e.name)}/stop`, { method: "POST" }); experimentsPage(main); } catch (error) { toast(error.message, "error"); }
        } }, "Stop") : null)))))
      : h("p", { class: "muted" }, "No experiments: `quarry experiments start` creates one."));
  return null;
}

export async function approvalsPage(main) {
  const status = h("select", { id: "a-status", "aria-label": "Status" },
    ["pending", "all"].map((s) => h("option", { value: s }, s)));
  const list = h("div", {});
  async function load() {
    const { approvals } = await api("/v1/approvals", { query: { status: status.value } });
    clear(list, approvals.length ? h("ul", { class: "approvals plain" }, approvals.map(card))
      : h("p", { class: "muted" }, "Nothing waits for a decision."));
  }
  function card(a) {
    const note = h("input", { "aria-label": `Note for ${a.tool}`, placeholder: "note (optional)" });
    const decide = (verb) => async () => {
      try {
        await api(`/v1/approvals/${enc(a.id)}/${verb}`, { method: "POST", body: { note: note.value } });
        toast(`${verb === "approve" ? "Approved" : "Rejected"}: ${a.tool}`);
        load();
      } catch (error) { toast(error.message, "error"); }
    };
    return h("li", { class: "card" },
      h("div", { class: "row between" }, h("strong", {}, `${a.tool} (${a.risk})`), h("span", { class: "muted small" }, `${a.status} · ${fmt.time(a.created_at)}`)),
      h("pre", { class: "mono small" }, a.arguments),
      a.context ? h("details", {}, h("summary", {}, "What the run did so far"), h("pre", { class: "small" }, a.context)) : null,
      a.status === "pending" ? h("div", { class: "row" }, note,
        h("button", { class: "small", onclick: decide("approve") }, "Approve"),
        h("button", { class: "danger small", onclick: decide("reject") }, "Reject")) : null);
  }
  status.addEventListener("change", load);
  document.title = "Approvals · Quarry";
  clear(main, h("h1", {}, "Approvals"), h("div", { class: "row" }, status), list);
  await load();
  return null;
}
