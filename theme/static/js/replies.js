// Answering customers on /admin/ (see admin.js): each comment's status, and "Reply", a
// mailto: link prepared for the customer that marks the comment answered when followed.
// Comments are untrusted: they only ever reach the page as text or inside an encoded URL.
import { ApiError, api } from "./account.js";

export const STATUSES = { new: "New", answered: "Answered", closed: "Closed" };

/** The link's address with only what a mailto: address may not hold percent-encoded. */
function mailtoAddress(email) {
  return encodeURIComponent(email).replace(/%40/g, "@");
}

/**
 * The mailto: URL of a reply: to the comment's author, its subject naming the design, its
 * body quoting the comment line by line. Lines end in CRLF, as RFC 6068 asks; every part
 * is percent-encoded (spaces as %20: a "+" would reach the email as a plus sign).
 */
export function replyHref(comment, designUrl) {
  const subject = `Re: your comment on ${comment.design}`;
  const hello = comment.author_name ? `Hello ${comment.author_name},` : "Hello,";
  const quoted = comment.text.split("\n").map((line) => `> ${line}`);
  const body = [hello, "", `You wrote about ${comment.design} (${designUrl}):`, "", ...quoted, "", ""];
  const query = `subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body.join("\r\n"))}`;
  return `mailto:${mailtoAddress(comment.author_email)}?${query}`;
}

/** Set a comment's status (PATCH); the comment as stored now. Raises ApiError. */
export function setStatus(commentId, status) {
  return api(`admin/comments/${encodeURIComponent(commentId)}`, { method: "PATCH", body: { status } });
}

/**
 * Wire one row's status select and Reply link. `report(message)` says what happened;
 * `refused(error)` handles a 401 or 403 (true) as the page does.
 */
export function bindStatus(comment, select, reply, { report, refused }) {
  let current = comment.status;

  async function change(status, done) {
    select.disabled = true;
    try {
      const stored = await setStatus(comment.id, status);
      current = stored.status;
      select.value = current;
      report(done);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      select.value = current;
      if (!refused(error)) report(`The status was not changed: ${error.message}`);
    } finally {
      select.disabled = false;
    }
  }

  select.addEventListener("change", () => {
    const status = select.value;
    change(status, `Marked ${STATUSES[status].toLowerCase()}.`);
  });
  if (reply) {
    // The email program opens from the link itself; the page only records the answer.
    reply.addEventListener("click", () => {
      if (current !== "answered") change("answered", "Reply opened in your email program; marked answered.");
    });
  }
}
