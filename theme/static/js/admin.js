// /admin/ (see admin.html): sign in, then list, filter, export and delete customers' comments.
// Comments are untrusted: every piece of them reaches the page through textContent or an
// attribute, never as HTML. The page runs under a strict CSP: no inline style, no eval.
import {
  api,
  ApiError,
  apiUrl,
  clearError,
  el,
  setBusy,
  showError,
  signedInViews,
  startSignedInPage,
} from "./account.js";
import { STATUSES, bindStatus, replyHref } from "./replies.js";

const FILTERS = ["design", "sentiment", "status", "since", "until"]; // the page's query string
const LABELS = { POSITIVE: "Positive", NEGATIVE: "Negative", NEUTRAL: "Neutral", MIXED: "Mixed" };
const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const SLUG = "[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?"; // nailfolio.web.api's design slugs
const DESIGN_KEY = new RegExp(`^${SLUG}/${SLUG}$`);
const QUOTED_MAX = 60; // characters of a rejected value repeated back in a message

function daysInMonth(year, month) {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** Why a text is not a calendar day as YYYY-MM-DD, or "" if it is one (no Date rollover). */
function dateProblem(text) {
  const match = ISO_DAY.exec(text);
  if (!match) return "not a date in the form YYYY-MM-DD";
  const [year, month, day] = match.slice(1).map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return "not a real date";
  }
  return "";
}

// Why a filter's value cannot be used, or "" when it can; values come trimmed, never empty.
const PROBLEMS = {
  design: (value) =>
    DESIGN_KEY.test(value) ? "" : "not a design such as ana/red-chrome (designer/design, in lowercase)",
  sentiment: (value) =>
    Object.hasOwn(LABELS, value.toUpperCase()) ? "" : "not one of Positive, Negative, Neutral or Mixed",
  status: (value) => (Object.hasOwn(STATUSES, value) ? "" : "not one of new, answered or closed"),
  since: dateProblem,
  until: dateProblem,
};

/** The filters a link asks for: bad values are left out, and why is kept in `ignored`. */
function linkFilters(params) {
  const filters = {};
  const ignored = {};
  for (const name of FILTERS) {
    const value = (params.get(name) || "").trim();
    const problem = value ? PROBLEMS[name](value) : "";
    if (problem) ignored[name] = { value, problem };
    filters[name] = problem ? "" : value;
  }
  filters.sentiment = filters.sentiment.toUpperCase();
  if (filters.since && filters.until && filters.since > filters.until) {
    ignored.until = { value: filters.until, problem: `earlier than the “From” date, ${filters.since}` };
    filters.until = "";
  }
  return { filters, ignored };
}

/** A value as messages repeat it: quoted, and cut short if long. */
function quoted(value) {
  return `“${value.length > QUOTED_MAX ? `${value.slice(0, QUOTED_MAX)}…` : value}”`;
}

/** A date input's value (local day) as the ISO instant its midnight starts, in UTC. */
function localMidnight(value, addDays = 0) {
  const [year, month, day] = value.split("-").map(Number);
  const date = new Date(0);
  date.setFullYear(year, month - 1, day + addDays); // new Date(y, …) takes 0-99 as 1900-1999
  date.setHours(0, 0, 0, 0);
  return date.toISOString();
}

/** The API's query for the chosen filters: "until" takes in the whole of its day. */
function apiQuery(filters, cursor = null, limit = null) {
  const query = new URLSearchParams();
  if (filters.design) query.set("design", filters.design);
  if (filters.sentiment) query.set("sentiment", filters.sentiment);
  if (filters.status) query.set("status", filters.status);
  if (filters.since) query.set("since", localMidnight(filters.since));
  if (filters.until) query.set("until", localMidnight(filters.until, 1));
  if (limit) query.set("limit", String(limit));
  if (cursor) query.set("cursor", cursor);
  return query;
}

function badge(comment) {
  const { sentiment, sentiment_status: status } = comment;
  if (status === "scored" && sentiment) {
    const label = sentiment.label;
    const score = sentiment[label.toLowerCase()];
    const text = `${LABELS[label] || label} ${typeof score === "number" ? score.toFixed(2) : ""}`;
    return el("span", { class: `badge badge--${label.toLowerCase()}` }, text.trim());
  }
  const text = status === "failed" ? "Not scored (failed)" : "Pending";
  return el("span", { class: "badge badge--none" }, text);
}

/** The author's email under their name, or a note that none was kept (older comments). */
function authorEmail(email) {
  if (!email) return el("span", { class: "admin-table__email admin-table__email--none" }, "No email kept");
  return el("span", { class: "admin-table__email" }, email);
}

function start(root) {
  const $ = (selector) => root.querySelector(selector);
  const siteRoot = root.dataset.root || "/";
  const signedOut = $("[data-signed-out]");
  const notAdmin = $("[data-not-admin]");
  const adminView = $("[data-admin]");
  const accountStatus = $("[data-account-status]");
  const sessionNote = $("[data-session-note]");
  const filtersForm = $("[data-filters]");
  const csv = el("a", { class: "button button--quiet", "data-csv": "", download: "" }, "Download CSV");
  const csvHref = () => apiUrl(`admin/comments.csv?${apiQuery(filters)}`);
  const listStatus = $("[data-list-status]");
  const table = $("[data-table]");
  const rows = $("[data-rows]");
  const empty = $("[data-empty]");
  const more = $("[data-more]");
  const asked = Number(new URLSearchParams(location.search).get("limit"));
  const pageSize = asked >= 1 ? Math.min(Math.floor(asked), 200) : null; // default: the API's
  const linkNote = $("[data-link-note]");
  const link = linkFilters(new URLSearchParams(location.search));
  let filters = link.filters;
  let cursor = null;
  let shown = 0;
  let generation = 0; // a reload makes the answers of earlier requests stale

  function readFilters(source) {
    const values = {};
    for (const name of FILTERS) values[name] = (source.get(name) || "").trim();
    return values;
  }

  const { show, gate } = signedInViews(root, {
    signedOut,
    refused: notAdmin,
    page: adminView,
    accountStatus,
    allows: (user) => user.role === "admins",
    onShow: (view) => (linkNote.hidden = view === adminView || !Object.keys(link.ignored).length),
  });

  /** Say which of the link's filters were ignored and why: in one list, and by each field. */
  function showIgnored() {
    const items = Object.entries(link.ignored).map(([name, { value, problem }]) => {
      const label = filtersForm.elements[name].labels[0].textContent;
      return el("li", {}, `${label}: ${quoted(value)} is ${problem}.`);
    });
    $("[data-link-note-list]").replaceChildren(...items);
    for (const [name, { value, problem }] of Object.entries(link.ignored)) {
      $(`[data-note-for="${name}"]`).textContent = `Ignored ${quoted(value)} from the link: ${problem}.`;
    }
  }

  function clearIgnored() {
    link.ignored = {};
    for (const note of root.querySelectorAll("[data-note-for]")) note.textContent = "";
  }

  function route(user, { focus = false } = {}) {
    if (user) sessionNote.textContent = "";
    if (!gate(user, { focus })) return;
    for (const name of FILTERS) filtersForm.elements[name].value = filters[name];
    if (focus) filtersForm.elements.design.focus();
    reload();
  }

  function sessionEnded() {
    sessionNote.textContent = "Your session has ended. Sign in again to go on.";
    show(signedOut);
    signedOut.querySelector("input[name=email]").focus();
  }

  /** Handle a 401 or 403 (true), or leave the error to the caller (false). */
  function refused(error) {
    if (error.status === 401) sessionEnded();
    else if (error.status === 403) show(notAdmin);
    else return false;
    return true;
  }

  async function reload() {
    cursor = null;
    shown = 0;
    rows.replaceChildren();
    csv.href = csvHref();
    await loadPage();
  }

  async function loadPage() {
    const mine = ++generation;
    more.disabled = true;
    listStatus.textContent = "Loading comments…";
    const firstNew = rows.children.length;
    try {
      const query = apiQuery(filters, cursor, pageSize);
      const data = await api(`admin/comments?${query}`);
      if (mine !== generation) return;
      for (const comment of data.comments) rows.append(row(comment));
      shown += data.comments.length;
      cursor = data.next_cursor;
      listed(firstNew);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (mine !== generation) return;
      listStatus.textContent = "";
      if (!refused(error)) showError(filtersForm, error.message, filtersForm.elements[error.field]);
    } finally {
      more.disabled = false;
    }
  }

  function listed(firstNew) {
    const filtered = FILTERS.some((name) => filters[name]);
    table.hidden = shown === 0;
    empty.hidden = shown !== 0;
    empty.textContent = filtered ? "No comments match these filters." : "No comments yet.";
    more.hidden = !cursor;
    const count = `${shown} comment${shown === 1 ? "" : "s"}`;
    listStatus.textContent =
      shown === 0 ? "" : cursor ? `Showing the newest ${count}; more are older.` : `Showing ${count}.`;
    if (firstNew > 0 && rows.children[firstNew]) rows.children[firstNew].querySelector("a").focus();
  }

  function row(comment) {
    const [designer = "", slug = ""] = comment.design.split("/");
    const href = `${siteRoot}designs/${encodeURIComponent(designer)}/${encodeURIComponent(slug)}/`;
    const when = new Date(comment.created_at);
    const time = el("time", { datetime: comment.created_at }, WHEN.format(when));
    const author = comment.author_name || "No name given";
    const reply = comment.author_email
      ? el(
          "a",
          { class: "button button--small", href: replyHref(comment, new URL(href, location.href).href) },
          "Reply",
          el("span", { class: "visually-hidden" }, ` to ${author} by email`),
        )
      : null;
    const status = el("select", { class: "status-select", "aria-label": `Status of the comment by ${author}` });
    for (const [value, label] of Object.entries(STATUSES)) status.append(el("option", { value }, label));
    status.value = comment.status;
    const remove = el(
      "button",
      { type: "button", class: "button button--quiet button--small" },
      "Delete",
      el("span", { class: "visually-hidden" }, ` the comment by ${author}, ${WHEN.format(when)}`),
    );
    const tr = el(
      "tr",
      {},
      el("th", { scope: "row", "data-label": "Design" }, el("a", { href }, comment.design)),
      el("td", { "data-label": "Author" }, author, authorEmail(comment.author_email)),
      el("td", { "data-label": "Time" }, time),
      el("td", { "data-label": "Sentiment" }, badge(comment)),
      el("td", { "data-label": "Status" }, status),
      el("td", { "data-label": "Comment", class: "admin-table__text" }, comment.text),
      el("td", { class: "admin-table__actions" }, ...(reply ? [reply] : []), remove),
    );
    remove.addEventListener("click", () => deleteComment(comment, tr, author));
    bindStatus(comment, status, reply, {
      report: (message) => {
        listStatus.textContent = message;
      },
      refused,
    });
    return tr;
  }

  async function deleteComment(comment, tr, author) {
    if (!confirm(`Delete the comment by ${author}? This cannot be undone.`)) return;
    const button = tr.querySelector("button");
    button.disabled = true;
    try {
      await api(`admin/comments/${encodeURIComponent(comment.id)}`, { method: "DELETE" });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      button.disabled = false;
      if (refused(error)) return;
      if (error.status !== 404) {
        listStatus.textContent = `The comment was not deleted: ${error.message}`;
        return button.focus();
      }
    }
    const next = tr.nextElementSibling || tr.previousElementSibling;
    tr.remove();
    shown -= 1;
    listed(0);
    listStatus.textContent = `Comment deleted. ${listStatus.textContent}`;
    (next ? next.querySelector("button") : filtersForm.elements.design).focus();
  }

  filtersForm.addEventListener("submit", (event) => {
    event.preventDefault();
    clearError(filtersForm);
    clearIgnored();
    const chosen = readFilters(new FormData(filtersForm));
    const designProblem = chosen.design && PROBLEMS.design(chosen.design);
    if (designProblem) {
      const message = `${quoted(chosen.design)} is ${designProblem}.`;
      return showError(filtersForm, message, filtersForm.elements.design);
    }
    if (chosen.since && chosen.until && chosen.since > chosen.until) {
      return showError(filtersForm, "“From” must be on or before “To”.", filtersForm.elements.until);
    }
    filters = chosen;
    const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value));
    const search = query.toString();
    history.replaceState(null, "", search ? `?${search}` : location.pathname);
    setBusy(filtersForm, true);
    reload().finally(() => setBusy(filtersForm, false));
  });
  filtersForm.addEventListener("reset", () => {
    clearError(filtersForm);
    clearIgnored();
    setTimeout(() => filtersForm.requestSubmit(), 0); // after the fields are emptied
  });
  more.addEventListener("click", loadPage);

  showIgnored();
  csv.href = csvHref();
  $("[data-csv-slot]").append(csv);
  const placeholder = $("[data-admin-placeholder]");
  const cleared = () => rows.replaceChildren();
  startSignedInPage({ root, signedOut, accountStatus, placeholder, show, route, cleared });
}

const root = document.getElementById("admin");
if (root) start(root);
