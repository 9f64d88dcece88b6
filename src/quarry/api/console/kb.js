// Knowledge base: collections, their documents (search, metadata, chunks with offsets), uploads with progress,
// ingest jobs with live status and per-file errors, re-ingest and delete.
import { api, clear, confirmDialog, errorBox, fmt, h, loading, session, toast, upload } from "./lib.js";

const enc = encodeURIComponent;

export async function knowledgePage(main, [collection, view, ...rest]) {
  if (collection && view === "doc") return documentPage(main, collection, rest.join("/"));
  const collections = await api("/v1/collections");
  const chosen = collections.find((c) => c.name === collection) || (collection ? null : collections[0]);
  const canWrite = session.me.scope !== "read";
  const side = h("nav", { class: "kb-side", "aria-label": "Collections" },
    h("h2", {}, "Collections"),
    h("ul", { class: "plain" }, collections.map((c) => h("li", {},
      h("a", { href: `#/kb/${enc(c.name)}`, "aria-current": c === chosen ? "page" : false }, c.name,
        c.documents !== null ? h("span", { class: "muted small" }, ` ${c.documents} docs`) : null)))),
    canWrite ? createForm() : null);
  const content = h("section", { class: "kb-main" });
  clear(main, h("h1", {}, "Knowledge base"), h("div", { class: "kb-layout" }, side, content));
  document.title = "Knowledge base · Quarry";
  if (!chosen && collection) {  // not listed for this key: say why, in the API's words
    content.append(await api(`/v1/collections/${enc(collection)}`).then(
      () => h("p", { class: "notice" }, `Collection ${collection} is not listed for this key.`), errorBox));
    return null;
  }
  if (!chosen) {
    content.append(h("p", { class: "notice" }, "No collection yet.", canWrite ? " Create one to upload documents." : ""));
    return null;
  }
  return collectionView(content, chosen, canWrite);
}

function createForm() {
  const name = h("input", { id: "new-collection", name: "name", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" });
  return h("form", { class: "stack", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await api("/v1/collections", { method: "POST", body: { name: name.value } });
      location.hash = `#/kb/${enc(name.value)}`;
    } catch (error) { toast(error.message, "error"); }
  } }, h("label", { for: "new-collection" }, "New collection"), name, h("button", { type: "submit" }, "Create"));
}

function collectionView(content, info, canWrite) {
  const jobs = h("ul", { class: "jobs", "aria-label": "Ingest jobs", "aria-live": "polite" });
  const docs = h("div", {}, loading());
  const search = h("input", { id: "doc-search", type: "search", placeholder: "Search titles and URIs",
    "aria-label": "Search documents" });
  let documents = [];
  let timer = null;
  let stopped = false;
  let newestFinish = null;

  async function loadDocuments() {
    try {
      documents = await api(`/v1/collections/${enc(info.name)}/documents`, { query: { limit: 500 } });
      renderDocuments();
    } catch (error) { clear(docs, errorBox(error)); }
  }

  function renderDocuments() {
    const needle = search.value.trim().toLowerCase();
    const shown = documents.filter((d) => !needle || `${d.title} ${d.uri}`.toLowerCase().includes(needle));
    clear(docs, shown.length ? h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Title", "URI", "Chunks", "Metadata", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, shown.map((d) => h("tr", {},
        h("td", {}, h("a", { href: `#/kb/${enc(info.name)}/doc/${enc(d.uri)}` }, d.title || d.uri)),
        h("td", { class: "mono small" }, d.uri),
        h("td", { class: "num" }, d.chunks),
        h("td", { class: "small" }, metadataText(d.metadata)),
        h("td", { class: "actions" }, canWrite ? rowActions(info.name, d, loadDocuments, poll) : null)))))
      : h("p", { class: "muted" }, documents.length ? "No document matches." : "No documents yet."));
  }

  async function poll() {
    clearTimeout(timer);
    if (stopped) return;
    try {
      const all = (await api("/v1/jobs", { query: { limit: 20 } })).filter((j) => j.collection === info.name);
      clear(jobs, all.slice(0, 8).map(jobView));
      // a job finished since the last look (however quickly it ran): the documents changed
      const finished = Math.max(0, ...all.map((j) => j.finished_at || 0));
      if (newestFinish !== null && finished > newestFinish) loadDocuments();
      newestFinish = finished;
      if (all.some((j) => j.status === "queued" || j.status === "running")) timer = setTimeout(poll, 1000);
    } catch (error) { clear(jobs, h("li", {}, errorBox(error))); }
  }

  search.addEventListener("input", renderDocuments);
  content.append(
    h("div", { class: "row between" }, h("h2", {}, info.name),
      h("span", { class: "muted" }, info.description || "", info.chunks !== null ? ` · ${info.chunks} chunks` : "")),
    canWrite ? dropZone(info.name, poll) : null,
    h("h3", {}, "Jobs"), jobs,
    h("h3", {}, "Documents"), search, docs);
  loadDocuments();
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}

function metadataText(metadata) {
  return Object.entries(metadata || {}).filter(([k]) => !k.startsWith("_")).slice(0, 4)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(" · ");
}

function rowActions(collection, doc, reload, poll) {
  // URLs (write keys) and server paths (admin keys, under the operator's api.ingest_roots); an upload is re-uploaded
  const fromSource = /^https?:\/\//.test(doc.source_uri) || (session.me.scope === "admin" && doc.source_uri.startsWith("/"));
  const reingest = fromSource ? h("button", { class: "secondary small", onclick: async () => {
    try {
      await api(`/v1/collections/${enc(collection)}/ingest`, { method: "POST", body: { source: doc.source_uri } });
      toast(`Re-ingesting ${doc.source_uri}`);
      poll();
    } catch (error) { toast(error.message, "error"); }
  } }, "Re-ingest") : null;
  const remove = h("button", { class: "danger small", onclick: async () => {
    if (!(await confirmDialog(`Delete “${doc.title || doc.uri}” and its ${doc.chunks} chunks from ${collection}?`))) return;
    try {
      await api(`/v1/collections/${enc(collection)}/documents/${enc(doc.uri)}`, { method: "DELETE" });
      toast("Deleted");
      reload();
    } catch (error) { toast(error.message, "error"); }
  } }, "Delete");
  return [reingest, remove];
}

function dropZone(collection, poll) {
  const input = h("input", { id: "files", type: "file", multiple: true, class: "visually-hidden" });
  const principals = h("input", { id: "principals", name: "principals", placeholder: "e.g. team-a, alice (empty: public)" });
  const bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload progress" });
  const zone = h("div", { class: "dropzone", tabindex: "0", role: "button", "aria-describedby": "drop-help",
    onclick: () => input.click(),
    onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); } },
    ondragover: (event) => { event.preventDefault(); zone.classList.add("over"); },
    ondragleave: () => zone.classList.remove("over"),
    ondrop: (event) => { event.preventDefault(); zone.classList.remove("over"); send(event.dataTransfer.files); } },
  h("strong", {}, "Drop files here"), h("span", { id: "drop-help", class: "muted" }, " or press to choose (PDF, DOCX, HTML, Markdown, …)"));

  async function send(files) {
    if (!files.length) return;
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    if (principals.value.trim()) form.append("principals", principals.value.trim());
    bar.hidden = false;
    try {
      const job = await upload(`/v1/collections/${enc(collection)}/documents`, form, (share) => { bar.value = share; });
      toast(`Uploaded ${files.length} file(s); ingest job ${job.id}`);
      poll();
    } catch (error) { toast(error.message, "error"); } finally {
      bar.hidden = true;
      bar.value = 0;
      input.value = "";
    }
  }
  input.addEventListener("change", () => send(input.files));
  return h("div", { class: "upload stack" }, h("label", { for: "files" }, "Upload documents"), zone, input,
    h("label", { for: "principals" }, "Who may see them"), principals, bar);
}

function jobView(job) {
  const total = job.total || 0;
  return h("li", { class: `job ${job.status}`, dataset: { job: job.id } },
    h("div", { class: "row between" },
      h("span", {}, h("strong", { class: "status" }, job.status), ` ${job.kind} · ${fmt.time(job.created_at)}`),
      h("span", { class: "muted small" }, Object.entries(job.units).map(([k, v]) => `${k} ${v}`).join(" · "),
        ` · ${job.chunks} chunks`)),
    h("progress", { max: total || 1, value: total ? job.done : job.status === "succeeded" ? 1 : 0,
      "aria-label": `Job ${job.id} progress` }),
    job.message ? h("p", { class: "small" }, job.message) : null,
    job.errors.length ? h("ul", { class: "errors" }, job.errors.map((e) =>
      h("li", { class: "error" }, h("span", { class: "mono" }, e.uri), `: ${e.reason}`))) : null);
}

async function documentPage(main, collection, uri) {
  const base = `/v1/collections/${enc(collection)}`;
  const [doc, chunks] = await Promise.all([api(`${base}/documents/${enc(uri)}`),
    api(`${base}/chunks`, { query: { document: uri } })]);
  document.title = `${doc.title || uri} · Quarry`;
  clear(main,
    h("p", {}, h("a", { href: `#/kb/${enc(collection)}` }, `← ${collection}`)),
    h("h1", {}, doc.title || doc.uri),
    h("dl", { class: "facts" },
      h("dt", {}, "URI"), h("dd", { class: "mono" }, doc.uri),
      h("dt", {}, "Source"), h("dd", { class: "mono" }, doc.source_uri),
      h("dt", {}, "Length"), h("dd", {}, `${doc.text.length.toLocaleString()} characters`,
        doc.pages.length ? `, ${doc.pages.length} pages` : ""),
      Object.entries(doc.metadata).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])),
    h("h2", {}, `Chunks (${chunks.length})`),
    h("ol", { class: "chunks" }, chunks.map((c) => h("li", { id: `chunk-${c.index}` },
      h("div", { class: "row wrap small muted" },
        h("span", { class: "mono" }, `#${c.index} · chars ${c.start}–${c.end}`),
        c.page ? h("span", {}, `page ${c.page}`) : null,
        h("span", {}, `${c.token_count} tokens`),
        c.heading_path.length ? h("span", {}, c.heading_path.join(" › ")) : null,
        c.flags.map((f) => h("span", { class: "badge warn" }, f))),
      h("pre", { class: "chunk-text", tabindex: "0", "aria-label": `Chunk ${c.index} text` }, c.text)))));
  return null;
}
