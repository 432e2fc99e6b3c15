// The comment form of a design page (section#comments, see design.html): signs people in or
// up, then posts their comment to /api/designs/<designer>/<design>/comments.
// The draft lives in sessionStorage, per design, until it is sent: no error, expired session
// or reload loses it. One idempotency key per draft makes a retry or double-click safe.
import {
  ApiError,
  api,
  bindAccountForms,
  bindSignedInBars,
  clearError,
  currentUser,
  OFFLINE_MESSAGE,
  setBusy,
  showError,
  showSignInTab,
  showUserName,
  signOut,
  waitText,
} from "./account.js";
import "./placeholders.js"; // design.html has one script: this one takes the image's placeholder off

const LIMIT = 2000; // code points after NFC and trimming, as the API counts them
const ANNOUNCE_EVERY_MS = 2000; // screen readers hear the counter at most this often
const SENT = "Thanks! Your comment went privately to the studio.";
const KEPT = "Your comment is kept.";

/** The unsent comment for one design, with the idempotency key of its last attempt. */
class Draft {
  constructor(design) {
    this.storageKey = `nailfolio:comment-draft:${design}`;
    this.memory = { text: "", key: null, keyText: null };
    try {
      Object.assign(this.memory, JSON.parse(sessionStorage.getItem(this.storageKey)) || {});
    } catch {
      // storage off or unreadable: the draft lives in memory only
    }
  }

  get text() {
    return this.memory.text || "";
  }

  save(text) {
    this.memory.text = text;
    this.store();
  }

  /** The key to send this text with: the last one if this text was already tried. */
  keyFor(text) {
    const clean = normalise(text);
    if (!this.memory.key || this.memory.keyText !== clean) {
      this.memory.key = newKey();
      this.memory.keyText = clean;
    }
    this.memory.text = text;
    this.store();
    return this.memory.key;
  }

  forgetKey() {
    this.memory.key = null;
    this.memory.keyText = null;
    this.store();
  }

  clear() {
    this.memory = { text: "", key: null, keyText: null };
    try {
      sessionStorage.removeItem(this.storageKey);
    } catch {
      // nothing stored
    }
  }

  store() {
    try {
      sessionStorage.setItem(this.storageKey, JSON.stringify(this.memory));
    } catch {
      // storage full or off: memory still holds it
    }
  }
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // plain http outside localhost
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function normalise(text) {
  return text.normalize("NFC").trim();
}

function countChars(text) {
  return [...normalise(text)].length;
}

function start(section) {
  const design = section.dataset.design;
  const $ = (selector) => section.querySelector(selector);
  const signedOut = $("[data-signed-out]");
  const signedIn = $("[data-signed-in]");
  const accountStatus = $("[data-account-status]");
  const sessionNote = $("[data-session-note]");
  const form = $("[data-comment-form]");
  const textarea = form.elements.text;
  const honeypot = form.elements.website;
  const counter = $("[data-counter]");
  const counterLive = $("[data-counter-live]");
  const commentStatus = $("[data-comment-status]");
  const draft = new Draft(design);
  const path = `designs/${design.split("/").map(encodeURIComponent).join("/")}/comments`;
  let sending = false;
  let announceTimer = null;
  let announced = "";

  function updateCounter() {
    const count = countChars(textarea.value);
    const over = count - LIMIT;
    counter.textContent = over > 0 ? `${count} / ${LIMIT}: ${over} too many` : `${count} / ${LIMIT}`;
    counter.classList.toggle("counter--over", over > 0);
  }

  /** Tell screen readers the count now and then while typing, not at every key. */
  function scheduleAnnouncement() {
    if (announceTimer === null) announceTimer = setTimeout(announceCount, ANNOUNCE_EVERY_MS);
  }

  function announceCount() {
    announceTimer = null;
    const count = countChars(textarea.value);
    const words =
      count > LIMIT
        ? `${count - LIMIT} characters over the limit of ${LIMIT}`
        : `${count} of ${LIMIT} characters used`;
    if (words !== announced) counterLive.textContent = announced = words;
  }

  function showSignedOut({ expired = false } = {}) {
    signedIn.hidden = true;
    signedOut.hidden = false;
    sessionNote.textContent = expired
      ? "Your session has ended. Sign in again to send your comment: what you wrote is kept."
      : "";
    if (expired) {
      showSignInTab(signedOut);
      signedOut.querySelector("form[data-sign-in]").elements.email.focus();
    }
  }

  function showSignedIn(user, { focus = false } = {}) {
    showUserName(section, user);
    accountStatus.textContent = "";
    sessionNote.textContent = "";
    signedOut.hidden = true;
    signedIn.hidden = false;
    if (!textarea.value && draft.text) textarea.value = draft.text;
    updateCounter();
    if (focus) textarea.focus();
  }

  async function send(event) {
    event.preventDefault();
    if (sending) return; // a double-click while sending
    clearError(form);
    commentStatus.textContent = "";
    const text = textarea.value;
    const count = countChars(text);
    if (count === 0) return showError(form, "Write your comment first.", textarea);
    if (count > LIMIT) {
      return showError(
        form,
        `Your comment is ${count} characters long; the limit is ${LIMIT}. ` +
          `Please shorten it by ${count - LIMIT} characters, then send it again.`,
        textarea,
      );
    }
    sending = true;
    setBusy(form, true);
    try {
      const body = { text, website: honeypot.value, idempotency_key: draft.keyFor(text) };
      await api(path, { method: "POST", body });
      draft.clear();
      textarea.value = "";
      updateCounter();
      commentStatus.textContent = SENT;
      commentStatus.focus();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      failed(error);
    } finally {
      sending = false;
      setBusy(form, false);
    }
  }

  function failed(error) {
    draft.save(textarea.value);
    if (error.status === 401) return showSignedOut({ expired: true });
    if (error.status === 0) return showError(form, `${OFFLINE_MESSAGE} ${KEPT}`);
    if (error.status === 429) {
      return showError(
        form,
        `You are sending comments too quickly. Please wait ${waitText(error.retryAfter)}, ` +
          `then send it again. ${KEPT}`,
      );
    }
    if (error.code === "idempotency_key_reused") {
      draft.forgetKey();
      return showError(
        form,
        "An earlier version of this comment already reached the studio. " +
          "Send again if you want this version to reach it too.",
      );
    }
    if (error.status === 400) return showError(form, error.message, textarea);
    showError(form, `${error.message} ${KEPT}`);
  }

  async function leave() {
    clearError(form);
    try {
      await signOut();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status !== 401) return showError(form, `Could not sign you out: ${error.message}`);
    }
    draft.clear(); // a shared computer keeps no trace of what was typed
    textarea.value = "";
    commentStatus.textContent = "";
    showSignedOut();
    accountStatus.textContent = "You are signed out.";
    showSignInTab(signedOut).focus();
  }

  textarea.addEventListener("input", () => {
    draft.save(textarea.value);
    updateCounter();
    scheduleAnnouncement();
  });
  form.addEventListener("submit", send);
  bindAccountForms(signedOut, (user) => showSignedIn(user, { focus: true }));
  bindSignedInBars(signedIn, leave);

  $("[data-comments-placeholder]").hidden = true;
  if (draft.text) textarea.value = draft.text;
  updateCounter();
  accountStatus.textContent = "Checking whether you are signed in…";
  currentUser().then(
    (user) => {
      accountStatus.textContent = "";
      if (user) showSignedIn(user);
      else showSignedOut();
    },
    (error) => {
      if (!(error instanceof ApiError)) throw error;
      accountStatus.textContent = `We could not check whether you are signed in. ${error.message}`;
      showSignedOut();
    },
  );
}

const section = document.getElementById("comments");
if (section && section.dataset.design && section.querySelector("[data-comment-form]")) {
  start(section);
}
