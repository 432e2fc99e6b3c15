// Shared by comments.js and admin.js: the /api/ client, the account forms and form errors.
// The session is an HttpOnly cookie the API sets: this code never sees a token. It keeps a
// hint in localStorage that this browser signed in, so that a visitor who never did is not
// sent to GET /api/me only to be answered 401 (which browsers log as a console error).
// The session cookie lasts an hour; a second HttpOnly cookie, sent only to /api/auth/, holds
// a refresh token for 30 days: a call answered 401 asks POST /api/auth/refresh for a new
// session once, then tries again, so a customer stays signed in for days.
// A sign-up that answers 202 (or a sign-in refused with confirmation_needed) waits for the
// code the studio emailed: the form asks for it, and keeps the password in memory (never in
// storage) only to sign in once the code is accepted.

const API_ROOT = "/api/"; // same origin; the CDN routes /api/* to the API wherever the site is
const SIGNED_IN_HINT = "nailfolio:signed-in";

export const OFFLINE_MESSAGE =
  "You seem to be offline, or the studio cannot be reached. Check your connection and try again.";

/** An answer other than success: `status` 0 means the request never got an answer. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from a Retry-After header
    this.field = field;
  }
}

/** Call the API: JSON in, JSON out (null for 204); throws ApiError. An expired session is
 * renewed from the refresh cookie once, and the call made again. */
export async function api(path, { method = "GET", body } = {}) {
  if (navigator.onLine === false) throw new ApiError(0, "offline", OFFLINE_MESSAGE);
  let { response, data } = await send(path, method, body);
  if (response.status === 401 && !path.startsWith("auth/") && maybeSignedIn()) {
    if (await renewSession()) ({ response, data } = await send(path, method, body));
  }
  if (response.status === 401) rememberSignedIn(false);
  if (response.ok) return data;
  const error = (data && data.error) || {};
  throw new ApiError(
    response.status,
    error.code || `http_${response.status}`,
    sentence(error.message) || fallbackMessage(response.status),
    retryAfter(response.headers.get("Retry-After")),
    error.field || null,
  );
}

async function send(path, method, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined || method === "POST") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(API_ROOT + path, init);
  } catch {
    throw new ApiError(0, "offline", OFFLINE_MESSAGE);
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { response, data };
}

let renewing = null; // one refresh at a time, however many calls found the session expired

/** Whether POST /api/auth/refresh gave this browser a new session cookie. */
function renewSession() {
  renewing ??= send("auth/refresh", "POST", {})
    .then(({ response }) => response.ok, () => false)
    .finally(() => {
      renewing = null;
    });
  return renewing;
}

/** The URL of an API path, for links (the CSV download). */
export function apiUrl(path) {
  return API_ROOT + path;
}

/** "the password needs a digit" → "The password needs a digit." */
function sentence(text) {
  if (typeof text !== "string" || !text.trim()) return "";
  const trimmed = text.trim();
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?…:]$/.test(capital) ? capital : `${capital}.`;
}

function fallbackMessage(status) {
  if (status >= 500) return `Something went wrong on our side (error ${status}). Please try again in a moment.`;
  return `The request was refused (error ${status}).`;
}

function retryAfter(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

/** "30 seconds", "1 minute", "3 minutes": a wait in words. */
/** An element with these attributes and children (strings become text nodes, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function waitText(seconds) {
  if (seconds == null) return "a moment";
  if (seconds < 90) return seconds === 1 ? "1 second" : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

export function userName(user) {
  return (user && (user.name || user.email)) || "you";
}

// Form errors: one role="alert" box per form ([data-form-error]); a field at fault gets
// aria-invalid, points at the box with aria-describedby, and takes the focus.

export function showError(form, message, field = null) {
  clearError(form);
  const box = form.querySelector("[data-form-error]");
  box.textContent = message;
  if (!field) return;
  field.setAttribute("aria-invalid", "true");
  const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (!described.includes(box.id)) {
    field.dataset.addedDescription = box.id;
    field.setAttribute("aria-describedby", [...described, box.id].join(" "));
  }
  field.focus();
}

export function clearError(form) {
  form.querySelector("[data-form-error]").textContent = "";
  for (const field of form.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    const added = field.dataset.addedDescription;
    if (added) {
      const rest = field.getAttribute("aria-describedby").split(" ").filter((id) => id !== added);
      if (rest.length) field.setAttribute("aria-describedby", rest.join(" "));
      else field.removeAttribute("aria-describedby");
      delete field.dataset.addedDescription;
    }
  }
}

/** Disable a form's submit button while a request runs; give the focus back after. */
export function setBusy(form, busy) {
  const button = form.querySelector("[type=submit]");
  form.setAttribute("aria-busy", String(busy));
  const hadFocus = document.activeElement === button;
  button.disabled = busy;
  if (!busy && (hadFocus || document.activeElement === document.body)) button.focus();
}

// The field each API error code is about, for focus and aria-invalid.
const FIELD_OF_CODE = {
  invalid_email: "email",
  account_exists: "email",
  weak_password: "password",
  invalid_credentials: "password",
  invalid_code: "code",
  expired_code: "code",
};

function fieldFor(form, error) {
  const name = error.field || FIELD_OF_CODE[error.code];
  return (name && form.elements[name]) || null;
}

// What a password lacks, the rules of nailfolio.identity.provider.check_password (the API has the
// last word: this only spares a round trip).
const SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

function passwordProblem(password) {
  const missing = [];
  if (password.length < 8) missing.push("at least 8 characters");
  if (!/[A-Z]/.test(password)) missing.push("an uppercase letter");
  if (!/[a-z]/.test(password)) missing.push("a lowercase letter");
  if (!/[0-9]/.test(password)) missing.push("a digit");
  const inner = password.replace(/^ +| +$/g, "");
  if (![...inner].some((c) => SYMBOLS.includes(c))) missing.push("a symbol such as ! ? # or -");
  if (missing.length) return `The password needs ${missing.join(", ")}.`;
  if (password !== inner) return "A password cannot begin or end with a space.";
  return "";
}

function required(form, names) {
  const labels = {
    email: "your email address",
    password: "your password",
    code: "the code from the email",
  };
  for (const name of names) {
    const field = form.elements[name];
    if (!field.value.trim()) {
      showError(form, `Enter ${labels[name]}.`, field);
      return false;
    }
  }
  return true;
}

const NOT_CONFIRMED =
  "Your account is not confirmed yet. Enter the code we emailed you, or ask for a new one.";

async function submitAccount(form, path, body, onUser, askCode) {
  setBusy(form, true);
  try {
    const data = await api(path, { method: "POST", body });
    form.reset();
    clearError(form);
    if (data && data.confirm) return askCode(data.email, body.password, "");
    // (a page without the confirm step never gets a 202: only sign-up answers one)
    rememberSignedIn(true);
    onUser(data.user);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.code === "confirmation_needed" && askCode) {
      form.reset();
      clearError(form);
      return askCode(body.email, body.password, NOT_CONFIRMED);
    }
    showError(form, error.message, fieldFor(form, error));
  } finally {
    setBusy(form, false);
  }
}

/** Bind the sign-in and sign-up forms, the tabs and the confirm step inside `root`;
 * onUser(user) on success. */
export function bindAccountForms(root, onUser) {
  const askCode = bindConfirm(root, onUser);
  for (const form of root.querySelectorAll("form[data-sign-in]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (form.getAttribute("aria-busy") === "true" || !required(form, ["email", "password"])) return;
      const body = { email: form.elements.email.value.trim(), password: form.elements.password.value };
      submitAccount(form, "auth/signin", body, onUser, askCode);
    });
  }
  for (const form of root.querySelectorAll("form[data-sign-up]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (form.getAttribute("aria-busy") === "true" || !required(form, ["email", "password"])) return;
      const body = { email: form.elements.email.value.trim(), password: form.elements.password.value };
      const weak = passwordProblem(body.password);
      if (weak) return showError(form, weak, form.elements.password);
      const name = form.elements.name.value.trim();
      if (name) body.name = name;
      submitAccount(form, "auth/signup", body, onUser, askCode);
    });
  }
  for (const tablist of root.querySelectorAll("[data-tabs]")) bindTabs(tablist);
}

/** Show the confirm step instead of the tabs (or the tabs again, `on` false). */
function showConfirm(root, on) {
  for (const box of root.querySelectorAll("[data-confirm]")) box.hidden = !on;
  for (const choice of root.querySelectorAll("[data-account-choice]")) choice.hidden = on;
}

/** Bind the confirm step; returns askCode(email, password, note), which shows it (null on a
 * page without one: a sign-in waiting for its code then just shows the API's message). */
function bindConfirm(root, onUser) {
  const box = root.querySelector("[data-confirm]");
  if (!box) return null;
  const form = box.querySelector("form[data-confirm-form]");
  const status = box.querySelector("[data-confirm-status]");
  const resend = box.querySelector("[data-resend]");
  let pending = null; // { email, password }: in memory only, until the code is accepted

  const back = () => {
    pending = null;
    form.reset();
    clearError(form);
    status.textContent = "";
    showConfirm(root, false);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pending || form.getAttribute("aria-busy") === "true" || !required(form, ["code"])) return;
    status.textContent = "";
    setBusy(form, true);
    try {
      const body = { ...pending, code: form.elements.code.value.trim() };
      const data = await api("auth/confirm", { method: "POST", body });
      back();
      rememberSignedIn(true);
      onUser(data.user);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "invalid_credentials") return signInAgain(root, back);
      showError(form, error.message, fieldFor(form, error));
    } finally {
      setBusy(form, false);
    }
  });

  resend.addEventListener("click", async () => {
    if (!pending || resend.disabled) return;
    clearError(form);
    status.textContent = "";
    resend.disabled = true;
    try {
      await api("auth/resend", { method: "POST", body: { email: pending.email } });
      status.textContent = `We sent a new code to ${pending.email}.`;
      form.elements.code.value = "";
      form.elements.code.focus();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(form, error.message);
    } finally {
      resend.disabled = false;
    }
  });

  box.querySelector("[data-confirm-back]").addEventListener("click", () => {
    back();
    showSignInTab(root).focus();
  });

  return (email, password, note) => {
    pending = { email, password };
    for (const slot of box.querySelectorAll("[data-confirm-email]")) slot.textContent = email;
    form.reset();
    clearError(form);
    status.textContent = note;
    showConfirm(root, true);
    form.elements.code.focus();
  };
}

/** The code was right but the password was not: the account is confirmed, so sign in. */
function signInAgain(root, back) {
  back();
  showSignInTab(root);
  const signIn = root.querySelector("form[data-sign-in]");
  if (signIn) {
    showError(
      signIn,
      "Your email is confirmed, but that password did not match. Sign in with your password.",
      signIn.elements.password,
    );
  }
}

/** The tabs pattern: click or arrow keys select; only the selected tab is in the tab order. */
function bindTabs(tablist) {
  const tabs = [...tablist.querySelectorAll("[role=tab]")];
  const select = (tab, focus) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
  };
  tablist.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) select(tab, false);
  });
  tablist.addEventListener("keydown", (event) => {
    const i = tabs.indexOf(document.activeElement);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (i < 0 || next === undefined) return;
    event.preventDefault();
    select(tabs[(next + tabs.length) % tabs.length], true);
  });
}

/** The first tab of the account tabs, selected (after a sign-out or an expired session). */
export function showSignInTab(root) {
  showConfirm(root, false);
  const tab = root.querySelector("[data-tabs] [role=tab]");
  if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
  return tab;
}

/** Fill every "Signed in as" name in root and bind its sign-out buttons to onSignOut. */
export function bindSignedInBars(root, onSignOut) {
  for (const button of root.querySelectorAll("[data-sign-out]")) {
    button.addEventListener("click", onSignOut);
  }
}

export function showUserName(root, user) {
  for (const slot of root.querySelectorAll("[data-user-name]")) slot.textContent = userName(user);
}

function rememberSignedIn(yes) {
  try {
    if (yes) localStorage.setItem(SIGNED_IN_HINT, "1");
    else localStorage.removeItem(SIGNED_IN_HINT);
  } catch {
    // storage off: currentUser() then always asks the API
  }
}

function maybeSignedIn() {
  try {
    return localStorage.getItem(SIGNED_IN_HINT) === "1";
  } catch {
    return true;
  }
}

export async function signOut() {
  await api("auth/signout", { method: "POST" });
  rememberSignedIn(false);
}

/**
 * The three views of a page that works signed in, one shown at a time: `signedOut` (its
 * sign-in forms), `refused` (signed in without a role the page needs) and `page`.
 * `gate(user, { focus })` shows the one that fits `user` (or null), and says whether the
 * page may go on; `onShow(view)` runs after every change of view.
 */
export function signedInViews(root, { signedOut, refused, page, accountStatus, allows, onShow = () => {} }) {
  const views = [signedOut, refused, page];
  function show(view) {
    for (const each of views) each.hidden = each !== view;
    onShow(view);
  }
  function gate(user, { focus = false } = {}) {
    accountStatus.textContent = "";
    if (!user) {
      show(signedOut);
      return false;
    }
    showUserName(root, user);
    if (!allows(user)) {
      show(refused);
      if (focus) refused.querySelector("[data-sign-out]")?.focus();
      return false;
    }
    show(page);
    return true;
  }
  return { show, gate };
}

/**
 * Start a page that works signed in (/admin/, its insights and moderation, /studio/): its
 * sign-in forms in `signedOut`, its sign-out buttons, then whether someone is signed in.
 * `show(view)` shows one view; `route(user, { focus })` shows the page for a user (or
 * null); `cleared()` empties what the signed-out page must not keep showing.
 */
export function startSignedInPage({ root, signedOut, accountStatus, placeholder, show, route, cleared }) {
  async function leave() {
    try {
      await signOut();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status !== 401) {
        accountStatus.textContent = `Could not sign you out: ${error.message}`;
        return;
      }
    }
    cleared();
    show(signedOut);
    accountStatus.textContent = "You are signed out.";
    signedOut.querySelector("input[name=email]")?.focus();
  }

  bindAccountForms(signedOut, (user) => route(user, { focus: true }));
  bindSignedInBars(root, leave);
  placeholder.hidden = true;
  accountStatus.textContent = "Checking whether you are signed in…";
  currentUser().then(route, (error) => {
    if (!(error instanceof ApiError)) throw error;
    accountStatus.textContent = `We could not check whether you are signed in. ${error.message}`;
    show(signedOut);
  });
}

/** The signed-in user, or null when signed out; throws ApiError when it cannot tell. */
export async function currentUser() {
  if (!maybeSignedIn()) return null;
  try {
    const data = await api("me");
    rememberSignedIn(true);
    return data.user;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}
