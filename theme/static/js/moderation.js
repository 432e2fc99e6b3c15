// /admin/moderation/ (see moderation.html): sign in, then the held-back designs with their
// previews, labels and scores; approve or reject each with a reason, read its audit log, and
// the admins' notifications. After a decision the page polls the design's public page until
// it is live (200) or gone (404), on either backend. Everything from the API is shown through
// textContent or attributes, never as HTML; the page runs under a strict CSP.
import {
  api,
  ApiError,
  clearError,
  el,
  showError,
  signedInViews,
  startSignedInPage,
} from "./account.js";

const STATUS_NAMES = { needs_review: "Needs review", approved: "Approved", rejected: "Rejected" };
const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const POLL_MS = 2000;
const POLL_FOR_MS = 10 * 60 * 1000; // the rebuild queue on aws republishes within a minute or two

function when(iso) {
  return iso ? el("time", { datetime: iso }, WHEN.format(new Date(iso))) : "an unknown time";
}

function statusBadge(status) {
  const tone = { approved: "positive", rejected: "negative", needs_review: "mixed" }[status] || "none";
  return el("span", { class: `badge badge--${tone}` }, STATUS_NAMES[status] || status);
}

function labelList(labels) {
  if (!labels.length) return el("p", { class: "moderation__none" }, "The check found nothing.");
  const items = [...labels]
    .sort((a, b) => b.confidence - a.confidence)
    .map((label) => {
      const name = label.parent ? `${label.name} (${label.parent})` : label.name;
      return el("li", {}, `${name}: `, el("strong", {}, `${label.confidence.toFixed(1)}%`));
    });
  return el("ul", { class: "moderation__labels" }, ...items);
}

function who(decision) {
  return decision.decided_by === "auto" ? `the check (${decision.model})` : decision.decided_by;
}

/** Disable (or enable) every button of a decision form while its request and rebuild run. */
function setBusy(form, busy) {
  form.setAttribute("aria-busy", String(busy));
  for (const button of form.querySelectorAll("button")) button.disabled = busy;
}

/** Poll `url` until it answers `wanted` (200: live, 404: gone); resolves true, or false on timeout. */
async function waitFor(url, wanted) {
  const deadline = Date.now() + POLL_FOR_MS;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { method: "HEAD", cache: "no-store", credentials: "omit" });
      if (response.status === wanted) return true;
    } catch {
      // offline for a moment: try again
    }
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
  return false;
}

function start(root) {
  const $ = (selector) => root.querySelector(selector);
  const siteRoot = root.dataset.root || "/";
  const signedOut = $("[data-signed-out]");
  const notAdmin = $("[data-not-admin]");
  const adminView = $("[data-admin]");
  const accountStatus = $("[data-account-status]");
  const sessionNote = $("[data-session-note]");
  const statusForm = $("[data-status-form]");
  const listStatus = $("[data-list-status]");
  const queue = $("[data-queue]");
  const empty = $("[data-empty]");
  const outbox = $("[data-outbox]");
  const outboxWhere = $("[data-outbox-where]");
  let generation = 0;

  const { show, gate } = signedInViews(root, {
    signedOut,
    refused: notAdmin,
    page: adminView,
    accountStatus,
    allows: (user) => user.role === "admins",
  });

  function route(user, { focus = false } = {}) {
    if (user) sessionNote.textContent = "";
    if (!gate(user, { focus })) return;
    if (focus) statusForm.elements.status.focus();
    reload();
  }

  function refused(error) {
    if (error.status === 401) {
      sessionNote.textContent = "Your session has ended. Sign in again to go on.";
      show(signedOut);
      signedOut.querySelector("input[name=email]").focus();
    } else if (error.status === 403) show(notAdmin);
    else return false;
    return true;
  }

  async function reload() {
    const mine = ++generation;
    const status = statusForm.elements.status.value;
    listStatus.textContent = "Loading the queue…";
    try {
      const data = await api(`admin/moderation?${new URLSearchParams({ status })}`);
      if (mine !== generation) return;
      queue.replaceChildren(...data.designs.map(card));
      const count = data.designs.length;
      empty.hidden = count !== 0;
      empty.textContent = status === "needs_review" ? "Nothing needs review." : "No designs with this status.";
      listStatus.textContent = count ? `${count} design${count === 1 ? "" : "s"}.` : "";
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (mine !== generation) return;
      listStatus.textContent = refused(error) ? "" : `The queue could not be loaded: ${error.message}`;
    }
    loadOutbox();
  }

  function card(item) {
    const title = item.title || item.design;
    const heading = el("h2", { class: "moderation__title" }, title);
    const preview = item.preview_url
      ? el("img", {
          class: "moderation__preview",
          src: item.preview_url,
          alt: `Preview of ${title}`,
          loading: "lazy",
          decoding: "async",
          referrerpolicy: "no-referrer",
        })
      : el("p", { class: "moderation__preview moderation__preview--none" }, "No preview: the file is gone or not an image a browser shows.");
    const score = typeof item.score === "number" ? `${item.score.toFixed(1)}%` : "none";
    const facts = el(
      "dl",
      { class: "moderation__facts" },
      el("dt", {}, "Design"),
      el("dd", {}, item.design),
      el("dt", {}, "Designer"),
      el("dd", {}, item.designer || "unknown"),
      el("dt", {}, "File"),
      el("dd", { class: "moderation__file" }, item.source || "not in the content store"),
      el("dt", {}, "Top score"),
      el("dd", {}, score),
      el("dt", {}, "Decided"),
      el("dd", {}, when(item.decided_at), ` by ${who(item)}`, item.reason ? `: ${item.reason}` : ""),
    );
    const li = el(
      "li",
      { class: "moderation__item panel" },
      preview,
      el(
        "div",
        { class: "moderation__body" },
        el("div", { class: "moderation__head" }, heading, statusBadge(item.status)),
        facts,
        el("h3", { class: "moderation__subtitle" }, "What the check saw"),
        labelList(item.labels),
        decisionForm(item, title),
        auditLog(item),
      ),
    );
    return li;
  }

  function decisionForm(item, title) {
    const id = `reason-${item.design.replace(/[^a-z0-9]/g, "-")}`;
    const form = el(
      "form",
      { class: "form moderation__decide", novalidate: "" },
      el(
        "div",
        { class: "field" },
        el("label", { for: id }, "Reason (kept in the audit log)"),
        el("textarea", { id, name: "reason", rows: "2", maxlength: "500", required: "" }),
      ),
      el("p", { class: "form__error", role: "alert", "data-form-error": "" }),
      el(
        "div",
        { class: "moderation__actions" },
        el("button", { class: "button", type: "submit", value: "approved" }, "Approve", el("span", { class: "visually-hidden" }, ` ${title}`)),
        el("button", { class: "button button--quiet", type: "submit", value: "rejected" }, "Reject", el("span", { class: "visually-hidden" }, ` ${title}`)),
      ),
      el("p", { class: "moderation__live", role: "status", "aria-live": "polite" }),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      decide(item, form, event.submitter ? event.submitter.value : "approved");
    });
    return form;
  }

  async function decide(item, form, status) {
    clearError(form);
    const reason = form.elements.reason.value.trim();
    if (!reason) return showError(form, "Say why: a reason is required.", form.elements.reason);
    const live = form.querySelector(".moderation__live");
    setBusy(form, true);
    live.textContent = status === "approved" ? "Approving…" : "Rejecting…";
    let data;
    try {
      data = await api("admin/moderation/decisions", { method: "POST", body: { design: item.design, status, reason } });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      setBusy(form, false);
      live.textContent = "";
      if (!refused(error)) showError(form, error.message, form.elements[error.field] || null);
      return;
    }
    form.elements.reason.value = "";
    const head = form.closest(".moderation__item").querySelector(".moderation__head .badge");
    head.replaceWith(statusBadge(data.decision.status));
    const verb = status === "approved" ? "Approved" : "Rejected";
    if (data.rebuild.state === "failed") {
      setBusy(form, false);
      live.textContent = `${verb}, but the site could not be rebuilt: ${data.rebuild.message}`;
      return;
    }
    const page = `${siteRoot}${data.page}`;
    live.textContent = status === "approved" ? `${verb}. Publishing the design…` : `${verb}. Taking the design off the site…`;
    const done = await waitFor(page, status === "approved" ? 200 : 404);
    setBusy(form, false);
    if (!done) {
      live.textContent = `${verb}. The site has not changed yet: check the rebuild's logs.`;
    } else if (status === "approved") {
      live.replaceChildren("The design is live: ", el("a", { href: page, "data-live-link": "" }, "see its page"), ".");
    } else {
      live.textContent = "The design is off the site.";
    }
    loadOutbox();
  }

  function auditLog(item) {
    const list = el("ol", { class: "moderation__history" });
    const details = el("details", { class: "moderation__audit" }, el("summary", {}, "Audit log"), list);
    details.addEventListener("toggle", async () => {
      if (!details.open) return;
      list.replaceChildren(el("li", {}, "Loading…"));
      try {
        const data = await api(`admin/moderation/history?${new URLSearchParams({ design: item.design })}`);
        list.replaceChildren(
          ...data.decisions.map((d) =>
            el("li", {}, statusBadge(d.status), " ", when(d.decided_at), ` by ${who(d)}`, d.reason ? `: ${d.reason}` : ""),
          ),
        );
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (!refused(error)) list.replaceChildren(el("li", {}, `Could not load the log: ${error.message}`));
      }
    });
    return details;
  }

  async function loadOutbox() {
    try {
      const data = await api("admin/moderation/outbox");
      outboxWhere.textContent = data.kept
        ? `Newest first, from ${data.where}.`
        : `Notifications go to ${data.where}; subscribe to it to receive them. SNS keeps no copy to list here.`;
      outbox.replaceChildren(
        ...data.notifications.map((note) =>
          el("li", {}, el("p", { class: "moderation__note-subject" }, when(note.created_at), ` ${note.subject}`), el("p", {}, note.body)),
        ),
      );
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (!refused(error)) outboxWhere.textContent = `The notifications could not be loaded: ${error.message}`;
    }
  }

  statusForm.addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });

  const placeholder = $("[data-admin-placeholder]");
  const cleared = () => queue.replaceChildren();
  startSignedInPage({ root, signedOut, accountStatus, placeholder, show, route, cleared });
}

const root = document.getElementById("moderation");
if (root) start(root);
