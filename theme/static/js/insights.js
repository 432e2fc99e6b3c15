// /admin/insights/ (see insights.html): sign in, then draw what GET /api/admin/insights says.
// Every chart is SVG drawn here at the figure's own width (1 unit = 1 CSS pixel, so its text
// stays readable on a phone), aria-hidden, beside a table of the same numbers for screen
// readers. Comment text and names are untrusted: they reach the page through textContent
// only. Colours come from classes (the strict CSP allows no style attribute).
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
import { replyHref, setStatus } from "./replies.js";

// SVG's namespace, read from an <svg> the page holds (the theme's scripts carry no plain-http
// string at all: tests/test_site.py checks), so createElementNS makes real SVG elements.
const SVG = document.querySelector("svg[data-svg-namespace]")?.namespaceURI;
const FILTERS = ["since", "until", "designer"];
const SHARES = [
  ["positive", "Positive"],
  ["mixed", "Mixed"],
  ["neutral", "Neutral"],
  ["negative", "Negative"],
];
const REASONS = { question: "Question", booking: "Booking", negative: "Unhappy" };
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const DESIGNS_SHOWN = 12;
const DAY = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });
const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const PERCENT = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });
const SCORE = new Intl.NumberFormat(undefined, { signDisplay: "exceptZero", maximumFractionDigits: 2 });

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

const percent = (share) => (share === null ? "–" : PERCENT.format(share));
const score = (value) => (value === null ? "–" : SCORE.format(value));
const weekLabel = (iso) => DAY.format(new Date(`${iso}T00:00:00Z`));

/** A table of rows (arrays of cells) with a caption; the first cell of a row is its header. */
function table(caption, headers, rows, { hidden = true } = {}) {
  const head = el("tr", {}, ...headers.map((text) => el("th", { scope: "col" }, text)));
  const body = rows.map((cells) =>
    el(
      "tr",
      {},
      el("th", { scope: "row" }, cells[0]),
      ...cells.slice(1).map((cell, n) => el("td", { "data-label": headers[n + 1] }, cell)),
    ),
  );
  const shown = el("table", { class: "admin-table insights__table" });
  shown.append(el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, ...body));
  // A wrapper hides it: a table is never narrower than its content, whatever its width.
  return hidden ? el("div", { class: "visually-hidden" }, shown) : shown;
}

/** The chart's SVG element, sized to its figure (aria-hidden: the table says the same). */
function canvas(figure, height) {
  const width = Math.max(260, Math.floor(figure.clientWidth || 320));
  return { width, node: svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, "aria-hidden": "true", class: "chart__svg" }) };
}

/** Weekly volume: one bar per week, stacked by sentiment (unscored on top). */
function drawVolume(figure, volume) {
  figure.replaceChildren();
  if (!volume.length) return figure.append(el("p", { class: "empty" }, "No comments in these weeks."));
  const height = 200;
  const { width, node } = canvas(figure, height);
  const left = 32;
  const bottom = 22;
  const plot = height - bottom - 8;
  const most = Math.max(1, ...volume.map((week) => week.comments));
  const step = (width - left - 4) / volume.length;
  const bar = Math.min(32, Math.max(1, step - Math.min(4, step / 4))); // a few weeks stay bars
  for (const tick of [0, Math.ceil(most / 2), most]) {
    const y = 8 + plot - (tick / most) * plot;
    node.append(svg("line", { x1: left, x2: width, y1: y, y2: y, class: "chart__grid" }));
    node.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "chart__label" }, String(tick)));
  }
  const every = Math.ceil(70 / step); // a date label every ~70px
  volume.forEach((week, n) => {
    const x = left + n * step;
    let y = 8 + plot;
    const parts = [...SHARES.map(([key]) => [key, week[key]]), ["unscored", week.comments - week.scored]];
    for (const [key, count] of parts) {
      if (!count) continue;
      const h = (count / most) * plot;
      y -= h;
      node.append(svg("rect", { x, y, width: bar, height: h, class: `chart__bar chart__bar--${key}` }));
    }
    if (n % every === 0) {
      node.append(svg("text", { x: x + bar / 2, y: height - 6, "text-anchor": "middle", class: "chart__label" }, weekLabel(week.week)));
    }
  });
  const rows = volume.map((week) => [
    `Week of ${weekLabel(week.week)}`,
    String(week.comments),
    ...SHARES.map(([key]) => String(week[key])),
  ]);
  figure.append(node, legend(), table("Comments week by week", ["Week", "Comments", ...SHARES.map(([, n]) => n)], rows));
}

function legend() {
  const items = [...SHARES, ["unscored", "Not scored yet"]].map(([key, name]) =>
    el("li", {}, el("span", { class: `chart__swatch chart__swatch--${key}` }), name),
  );
  return el("ul", { class: "chart__legend", "aria-hidden": "true" }, ...items);
}

/** One 100% bar per entry, split by sentiment share, its name and count above it. */
function drawShares(figure, entries, what) {
  figure.replaceChildren();
  if (!entries.length) return figure.append(el("p", { class: "empty" }, `No ${what} with comments in these weeks.`));
  const shown = entries.slice(0, DESIGNS_SHOWN);
  const row = 60; // the name, its numbers, then its bar: long design names fit a phone
  const { width, node } = canvas(figure, shown.length * row);
  shown.forEach((entry, n) => {
    const top = n * row;
    const numbers = `${entry.comments} comment${entry.comments === 1 ? "" : "s"} · score ${score(entry.average_score)}`;
    node.append(svg("text", { x: 0, y: top + 14, class: "chart__label chart__label--name" }, entry.name));
    node.append(svg("text", { x: 0, y: top + 30, class: "chart__label" }, numbers));
    let x = 0;
    if (!entry.scored) node.append(svg("rect", { x: 0, y: top + 36, width, height: 14, class: "chart__bar chart__bar--unscored" }));
    for (const [key] of SHARES) {
      const w = (entry.share[key] || 0) * width;
      if (!w) continue;
      node.append(svg("rect", { x, y: top + 36, width: w, height: 14, class: `chart__bar chart__bar--${key}` }));
      x += w;
    }
  });
  const rows = entries.map((entry) => [
    entry.name,
    String(entry.comments),
    ...SHARES.map(([key]) => percent(entry.share[key])),
    score(entry.average_score),
    trend(entry.weekly || []),
  ]);
  const caption = `${what[0].toUpperCase()}${what.slice(1)}: comments and sentiment`;
  figure.append(node, legend(), table(caption, ["Name", "Comments", ...SHARES.map(([, n]) => n), "Average score", "Trend by week"], rows));
}

function trend(weekly) {
  return weekly.map((week) => `${weekLabel(week.week)}: ${week.comments} (${score(week.average_score)})`).join("; ");
}

/** Key phrases as horizontal bars of their counts. */
function drawPhrases(figure, phrases) {
  figure.replaceChildren();
  if (!phrases.length) return figure.append(el("p", { class: "empty" }, "No key phrases yet: they are found as comments are scored."));
  const row = 26;
  const { width, node } = canvas(figure, phrases.length * row);
  const most = Math.max(...phrases.map((p) => p.count));
  const labelWidth = Math.min(150, width * 0.45);
  phrases.forEach((phrase, n) => {
    const y = n * row;
    node.append(svg("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end", class: "chart__label" }, phrase.phrase));
    const w = Math.max(2, ((width - labelWidth - 36) * phrase.count) / most);
    node.append(svg("rect", { x: labelWidth, y: y + 5, width: w, height: 16, class: "chart__bar chart__bar--phrase" }));
    node.append(svg("text", { x: labelWidth + w + 6, y: y + 17, class: "chart__label" }, String(phrase.count)));
  });
  const rows = phrases.map((p) => [p.phrase, String(p.count)]);
  figure.append(node, table("Key phrases, most mentioned first", ["Phrase", "Comments"], rows));
}

function designLink(siteRoot, design) {
  return el("a", { href: `${siteRoot}designs/${design}/` }, design);
}

// "Reply" opens a prepared email (replies.js, as on /admin/) and marks the comment answered,
// which takes it off this list; `answered(entry, error)` says how that went.
function drawAttention(list, empty, entries, siteRoot, answered) {
  list.replaceChildren(
    ...entries.map((entry) => {
      const badges = entry.reasons.map((reason) => el("span", { class: `badge badge--${reason === "negative" ? "negative" : "mixed"}` }, REASONS[reason]));
      const when = el("time", { datetime: entry.created_at }, WHEN.format(new Date(entry.created_at)));
      const item = el(
        "li",
        { class: "attention__item" },
        el("p", { class: "attention__meta" }, ...badges, " ", entry.author_name, " on ", designLink(siteRoot, entry.design), " · ", when),
        el("p", { class: "attention__text" }, entry.text),
      );
      if (entry.author_email) {
        const page = new URL(`${siteRoot}designs/${entry.design}/`, location.href).href;
        const reply = el("a", { class: "button button--small", href: replyHref({ ...entry, id: entry.comment_id }, page), "data-reply": "" }, "Reply");
        reply.addEventListener("click", () =>
          setStatus(entry.comment_id, "answered").then(
            () => {
              item.remove();
              empty.hidden = list.children.length > 0;
              answered(entry, null);
            },
            (error) => answered(entry, error),
          ),
        );
        item.append(el("p", { class: "attention__actions" }, reply));
      }
      return item;
    }),
  );
  empty.hidden = entries.length > 0;
}

function drawRanking(list, entries) {
  list.replaceChildren(
    ...(entries.length
      ? entries.map((entry) => el("li", {}, `${entry.name}: ${percent(entry.share.positive)} positive, ${percent(entry.share.negative)} negative (${entry.scored} scored)`))
      : [el("li", { class: "insights__none" }, "Not enough scored comments yet.")]),
  );
}

function drawTotals(dl, totals) {
  const pairs = [
    ["Comments", String(totals.comments)],
    ["Positive", percent(totals.share.positive)],
    ["Negative", percent(totals.share.negative)],
    ["Mixed", percent(totals.share.mixed)],
    ["Average score", score(totals.average_score)],
  ];
  dl.replaceChildren(...pairs.flatMap(([term, value]) => [el("div", { class: "insights__total" }, el("dt", {}, term), el("dd", {}, value))]));
}

function start(root) {
  const $ = (selector) => root.querySelector(selector);
  const siteRoot = root.dataset.root || "/";
  const signedOut = $("[data-signed-out]");
  const notAdmin = $("[data-not-admin]");
  const adminView = $("[data-admin]");
  const accountStatus = $("[data-account-status]");
  const form = $("[data-filters]");
  const status = $("[data-status]");
  const report = $("[data-report]");
  const csv = el("a", { class: "button button--quiet", download: "", "data-export": "csv" }, "Download CSV");
  const json = el("a", { class: "button button--quiet", download: "", "data-export": "json" }, "Download JSON");
  const params = new URLSearchParams(location.search);
  let filters = Object.fromEntries(FILTERS.map((name) => [name, (params.get(name) || "").trim()]));
  const designers = new Set();
  let last = null;
  let generation = 0;

  const { show, gate } = signedInViews(root, {
    signedOut,
    refused: notAdmin,
    page: adminView,
    accountStatus,
    allows: (user) => user.role === "admins",
  });

  function query() {
    return new URLSearchParams(Object.entries(filters).filter(([, value]) => value)).toString();
  }

  function draw(data) {
    last = data;
    drawAttention($("[data-attention]"), $("[data-attention-empty]"), data.needs_attention, siteRoot, (entry, error) => {
      if (error && !(error instanceof ApiError)) throw error;
      status.textContent = error
        ? `The comment was not marked answered: ${error.message}`
        : `Reply to ${entry.author_name} opened in your email program; marked answered.`;
    });
    drawTotals($("[data-totals]"), data.totals);
    $("[data-month-since]").textContent = `Since the week of ${weekLabel(data.this_month.since)}; designs with 3 or more scored comments.`;
    drawRanking($("[data-loved]"), data.this_month.most_loved);
    drawRanking($("[data-criticised]"), data.this_month.most_criticised);
    drawVolume($('[data-chart="volume"]'), data.volume);
    drawShares($('[data-chart="designs"]'), data.designs, "designs");
    drawShares($('[data-chart="designers"]'), data.designers, "designers");
    drawPhrases($('[data-chart="phrases"]'), data.key_phrases.overall);
    for (const designer of data.designers) designers.add(designer.name); // for the datalist
    $("[data-designers]").replaceChildren(...[...designers].sort().map((name) => el("option", { value: name })));
  }

  async function reload() {
    const mine = ++generation;
    status.textContent = "Loading insights…";
    const search = query();
    csv.href = apiUrl(`admin/insights.csv${search ? `?${search}` : ""}`);
    json.href = apiUrl(`admin/insights.json${search ? `?${search}` : ""}`);
    try {
      const data = await api(`admin/insights${search ? `?${search}` : ""}`);
      if (mine !== generation) return;
      report.hidden = false; // drawn while shown, so each chart can measure its width
      draw(data);
      const people = data.needs_attention.length;
      status.textContent = `${data.totals.comments} comment${data.totals.comments === 1 ? "" : "s"}; ${people} waiting for an answer.`;
    } catch (error) {
      if (!(error instanceof ApiError) || mine !== generation) throw error;
      if (error.status === 401) return show(signedOut);
      if (error.status === 403) return show(notAdmin);
      status.textContent = `Could not load the insights. ${error.message}`;
    }
  }

  function route(user) {
    if (!gate(user)) return;
    for (const name of FILTERS) form.elements[name].value = filters[name];
    reload();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearError(form);
    const chosen = Object.fromEntries(FILTERS.map((name) => [name, form.elements[name].value.trim()]));
    for (const name of ["since", "until"]) {
      if (chosen[name] && !ISO_DAY.test(chosen[name])) {
        return showError(form, "Enter dates as YYYY-MM-DD.", form.elements[name]);
      }
    }
    if (chosen.since && chosen.until && chosen.since >= chosen.until) {
      return showError(form, "“From” must be before “To”.", form.elements.until);
    }
    filters = chosen;
    const search = query();
    history.replaceState(null, "", search ? `?${search}` : location.pathname);
    setBusy(form, true);
    reload().finally(() => setBusy(form, false));
  });
  form.addEventListener("reset", () => {
    clearError(form);
    setTimeout(() => form.requestSubmit(), 0);
  });

  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => last && draw(last), 150); // redrawn at the new width
  });

  $("[data-exports]").append(csv, " ", json);
  const placeholder = $("[data-admin-placeholder]");
  const cleared = () => (report.hidden = true);
  startSignedInPage({ root, signedOut, accountStatus, placeholder, show, route, cleared });
}

const root = document.getElementById("insights");
if (root) start(root);
