// /studio/ (see studio.html): a designer signs in, picks or takes photos, describes them and
// uploads them with progress; then follows each design through moderation. Each photo: ask
// POST /api/studio/uploads for a form, post the file with it (straight to the content bucket
// on aws, to /api/studio/files locally), then PUT its metadata. Designs and what the API
// says reach the page through textContent only. The page runs under a strict CSP.
import {
  api,
  ApiError,
  clearError,
  el,
  setBusy,
  showError,
  signedInViews,
  startSignedInPage,
} from "./account.js";

const STATUS = {
  processing: ["Checking…", "badge--none"],
  approved: ["Live", "badge--positive"],
  needs_review: ["Held for review", "badge--mixed"],
  rejected: ["Rejected", "badge--negative"],
  not_usable: ["Not usable", "badge--negative"],
};
const POLL_MS = 3000;
const POLL_LIMIT = 40; // two minutes of "Checking…" at most, then a reload shows the rest
const METADATA = ["title", "tags", "colours", "technique", "description"];

/** The metadata the form holds, without empty fields (the sidecar keeps what is given). */
function metadataOf(form) {
  const values = {};
  for (const name of METADATA) {
    const value = form.elements[name].value.trim();
    if (!value) continue;
    values[name] = name === "tags" || name === "colours" ? value.split(",") : value;
  }
  return values;
}

/** Post `file` with an upload form, reporting progress (0-1); resolves when stored. */
function postFile(form, file, onProgress) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append("file", file); // last: S3 reads the fields before the file
    const request = new XMLHttpRequest();
    request.open("POST", form.url);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) return resolve();
      let message = `The upload was refused (HTTP ${request.status}).`;
      try {
        message = JSON.parse(request.responseText).error.message || message;
      } catch {
        // S3 answers XML: the status says enough
      }
      reject(new ApiError(request.status, "upload_refused", message));
    });
    request.addEventListener("error", () =>
      reject(new ApiError(0, "offline", "The upload broke off: check your connection and try again.")),
    );
    request.send(body);
  });
}

function start(root) {
  const $ = (selector) => root.querySelector(selector);
  const siteRoot = root.dataset.root || "/";
  const signedOut = $("[data-signed-out]");
  const notDesigner = $("[data-not-designer]");
  const studioView = $("[data-studio]");
  const accountStatus = $("[data-account-status]");
  const folderForm = $("[data-folder-form]");
  const folderNote = $("[data-folder-note]");
  const uploadPanel = $("[data-upload-panel]");
  const uploadForm = $("[data-upload-form]");
  const picked = $("[data-picked]");
  const progress = $("[data-progress]");
  const designsPanel = $("[data-designs-panel]");
  const designsList = $("[data-designs]");
  const listStatus = $("[data-list-status]");
  let designer = null; // {slug, name} of the folder shown
  let admin = false;
  let polls = 0;
  let pollTimer = null;
  let previews = [];

  const { show, gate } = signedInViews(root, {
    signedOut,
    refused: notDesigner,
    page: studioView,
    accountStatus,
    allows: (user) => user.role === "designers" || user.role === "admins",
  });

  function route(user, { focus = false } = {}) {
    if (!gate(user)) return;
    admin = user.role === "admins";
    folderForm.hidden = !admin;
    load(admin ? new URLSearchParams(location.search).get("designer") : "", focus);
  }

  /** List the folder's designs (an admin's: the one named); "" is the caller's own. */
  async function load(slug, focus = false) {
    clearTimeout(pollTimer);
    const query = slug ? `?designer=${encodeURIComponent(slug)}` : "";
    try {
      const data = await api(`studio/designs${query}`);
      designer = data.designer;
      folderNote.hidden = true;
      uploadPanel.hidden = designsPanel.hidden = false;
      $("[data-folder-name]").textContent = designer.name;
      render(data.designs);
      if (focus) uploadForm.elements.photos.focus();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) return show(signedOut);
      designer = null;
      uploadPanel.hidden = designsPanel.hidden = true;
      folderNote.hidden = false;
      folderNote.textContent =
        admin && error.code === "invalid_upload" ? "Name the designer whose folder to open." : error.message;
    }
  }

  function render(designs) {
    listStatus.textContent = designs.length
      ? `${designs.length} design${designs.length === 1 ? "" : "s"}, newest first.`
      : "No designs yet: add your first above.";
    designsList.replaceChildren(...designs.map(card));
    const waiting = designs.some((design) => design.status === "processing");
    if (waiting && polls < POLL_LIMIT) {
      polls += 1;
      pollTimer = setTimeout(() => load(admin ? designer.slug : ""), POLL_MS);
    }
  }

  function card(design) {
    const [label, tone] = STATUS[design.status] || [design.status, "badge--none"];
    const title = design.title || design.file;
    const heading = design.page
      ? el("a", { href: `${siteRoot}${design.page}` }, title)
      : el("span", {}, title);
    const facts = [design.technique, ...design.tags, ...design.colours].filter(Boolean).join(" · ");
    const item = el(
      "li",
      { class: "studio__design", "data-design": design.design },
      el("p", { class: "studio__design-title" }, heading),
      el("p", { class: "studio__design-status" }, el("span", { class: `badge ${tone}` }, label)),
    );
    if (design.reason) item.append(el("p", { class: "studio__design-reason" }, design.reason));
    if (facts) item.append(el("p", { class: "studio__design-facts" }, facts));
    item.append(editor(design));
    return item;
  }

  /** "Edit details": the design's metadata in a form of its own, saved as its sidecar. */
  function editor(design) {
    const id = `edit-${design.design.replace("/", "--")}`;
    const values = {
      title: design.title,
      tags: design.tags.join(", "),
      colours: design.colours.join(", "),
      technique: design.technique,
      description: design.description,
    };
    const form = el("form", { class: "form", novalidate: "" });
    for (const name of METADATA) {
      const label = name[0].toUpperCase() + name.slice(1);
      const field = name === "description" ? el("textarea", { rows: "3" }) : el("input", { type: "text" });
      field.id = `${id}-${name}`;
      field.name = name;
      field.value = values[name];
      form.append(el("div", { class: "field" }, el("label", { for: field.id }, label), field));
    }
    form.append(
      el("p", { class: "form__error", id: `${id}-error`, role: "alert", "data-form-error": "" }),
      el("button", { class: "button button--small", type: "submit" }, "Save details"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearError(form);
      const body = {};
      for (const name of METADATA) {
        const value = form.elements[name].value.trim();
        body[name] = name === "tags" || name === "colours" ? value.split(",") : value;
      }
      setBusy(form, true);
      try {
        const [folder, slug] = design.design.split("/");
        await api(`studio/designs/${folder}/${slug}`, { method: "PUT", body });
        listStatus.textContent = `Saved the details of ${body.title || design.file}.`;
        await load(admin ? designer.slug : "");
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        setBusy(form, false);
        showError(form, error.message, error.field ? form.elements[error.field] : null);
      }
    });
    return el("details", { class: "studio__edit" }, el("summary", {}, "Edit details"), form);
  }

  function showPicked() {
    for (const url of previews) URL.revokeObjectURL(url);
    previews = [];
    const files = [...uploadForm.elements.photos.files];
    picked.replaceChildren(
      ...files.map((file) => {
        const item = el("li", { class: "studio__pick" });
        if (/^image\/(jpeg|png|webp|gif|avif)$/.test(file.type)) {
          const url = URL.createObjectURL(file);
          previews.push(url);
          item.append(el("img", { src: url, alt: "", width: "64", height: "64" }));
        }
        item.append(el("span", {}, file.name));
        return item;
      }),
    );
  }

  async function uploadOne(file, metadata, row) {
    const bar = el("progress", { max: "1", value: "0", "aria-label": `Uploading ${file.name}` });
    const status = el("span", { class: "studio__upload-status" }, "Waiting…");
    row.append(el("span", { class: "studio__upload-name" }, file.name), bar, status);
    const body = { filename: file.name, content_type: file.type, size: file.size };
    if (admin) body.designer = designer.slug;
    try {
      const form = await api("studio/uploads", { method: "POST", body });
      status.textContent = "Uploading…";
      await postFile(form, file, (share) => {
        bar.value = share;
      });
      bar.value = 1;
      const slug = form.key.split("/").pop().replace(/\.[^.]+$/, "");
      if (Object.keys(metadata).length) {
        status.textContent = "Saving details…";
        await api(`studio/designs/${designer.slug}/${slug}`, { method: "PUT", body: metadata });
      }
      status.textContent = "Uploaded";
      row.classList.add("studio__upload--done");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status.textContent = `Not uploaded: ${error.message}`;
      row.classList.add("studio__upload--failed");
    }
  }

  uploadForm.elements.photos.addEventListener("change", showPicked);
  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(uploadForm);
    const files = [...uploadForm.elements.photos.files];
    if (!files.length) return showError(uploadForm, "Choose or take at least one photo.", uploadForm.elements.photos);
    if (!designer) return;
    const metadata = metadataOf(uploadForm);
    setBusy(uploadForm, true);
    const rows = files.map(() => el("li", { class: "studio__upload" }));
    progress.replaceChildren(...rows);
    for (const [index, file] of files.entries()) await uploadOne(file, metadata, rows[index]);
    setBusy(uploadForm, false);
    uploadForm.reset();
    showPicked();
    polls = 0;
    await load(admin ? designer.slug : "");
  });

  folderForm.addEventListener("submit", (event) => {
    event.preventDefault();
    polls = 0;
    load(folderForm.elements.designer.value.trim());
  });

  const placeholder = $("[data-studio-placeholder]");
  function cleared() {
    clearTimeout(pollTimer);
    designsList.replaceChildren();
  }
  startSignedInPage({ root, signedOut, accountStatus, placeholder, show, route, cleared });
}

const root = document.getElementById("studio");
if (root) start(root);
