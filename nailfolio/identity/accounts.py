"""Accounts as the web API uses them: sign-up limits, sessions, roles and erasure.

`AccountService` sits on an IdentityProvider (sign up, in and out; token checks) and the
CommentService (an erased account takes its comments with it). It speaks no HTTP.

- Sign-ups are rate-limited per client network (SIGN_UP_LIMITS), counted before the email is
  even looked at, so probing which emails have accounts costs the prober as much as signing up.
- A sign-up whose account needs no confirmation (the local default) signs the new customer
  in at once: it returns a Session like sign-in does. It is all or nothing: if that sign-in
  fails for any reason (the client's network or the email is locked out, the signing key is
  unreadable, the store fails), the new account is deleted again and the error goes on, so a
  failed sign-up leaves nothing behind and can be retried as it was.
- A sign-up that needs the emailed code (Cognito, or LocalIdentity given send_code) returns
  PendingConfirmation; `confirm` takes the code and the password and returns the Session.
  Confirming and resending are rate-limited per network like sign-ups, and resending says
  nothing about whether the email has an account (nor does a wrong code: InvalidCode either
  way).
- Sessions last: sign-in returns a refresh token with the ID token, and `refresh` trades it for
  a new ID token (with the user's current role) until it expires or the user signs out.
- Sign-out is idempotent: a token that is missing, expired, forged or already revoked is
  simply nothing to revoke. It ends the user's refresh tokens too (Cognito's GlobalSignOut);
  if the ID token had already expired, the refresh token is used to find whom to sign out.
- Deleting an account erases its comments first, then the user (a failure in between leaves
  an account that can retry), then erases again any comment a concurrent post slipped in.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from nailfolio.comments.service import CommentService
from nailfolio.identity.provider import (
    DEFAULT_ROLE,
    ROLES,
    AlreadyConfirmed,
    IdentityProvider,
    Principal,
    Unauthorized,
    UserNotFound,
    normalise_email,
)
from nailfolio.ratelimit import RateLimiter, RateRule, client_network, enforce

SIGN_UP_LIMITS = (RateRule(10, 3600),)  # per client network (/24 or /64)
# What each limited action is called in RateLimited's message; each counts on its own.
_ACTIONS = {"sign-ups": "sign-ups", "confirms": "confirmation attempts", "resends": "new codes"}


@dataclass(frozen=True)
class Session:
    """A signed-in user: who (as the store has them now) and the token that proves it."""

    principal: Principal
    token: str
    refresh_token: str = ""  # only when a new one was issued (sign-in), else ""


@dataclass(frozen=True)
class PendingConfirmation:
    """A sign-up waiting for the code emailed to `email`."""

    email: str


def role_of(principal: Principal) -> str:
    """The one role a principal acts as: the highest of its groups (ROLES is in order of
    privilege); a token with none of them (a bare Cognito user) acts as a customer."""
    return next((role for role in ROLES if principal.has_role(role)), DEFAULT_ROLE)


class AccountService:
    """Sign-up, sign-in, sign-out and account deletion for the API."""

    def __init__(
        self,
        identity: IdentityProvider,
        comments: CommentService,
        limiter: RateLimiter,
        sign_up_limits: Sequence[RateRule] = SIGN_UP_LIMITS,
    ) -> None:
        self._identity = identity
        self._comments = comments
        self._limiter = limiter
        self._sign_up_limits = tuple(sign_up_limits)

    def sign_up(
        self, email: str, password: str, name: str, client_ip: str
    ) -> Session | PendingConfirmation:
        """Create a customer and sign them in, or say a code was sent. Raises RateLimited,
        InvalidEmail, WeakPassword, InvalidName, AccountExists, TooManyAttempts, or whatever
        stopped the sign-in (a ConfigError for an unusable signing key); after the account
        was made, it is undone."""
        self._limit("sign-ups", client_ip)
        user = self._identity.sign_up(email, password, name)
        if not user.confirmed:
            return PendingConfirmation(user.email)
        try:
            return self.sign_in(email, password, client_ip)
        except BaseException:  # not swallowed: undone, then raised again
            with suppress(UserNotFound):
                self._identity.delete_user(user.sub)
            raise

    def confirm(self, email: str, code: str, password: str, client_ip: str) -> Session:
        """Confirm the sign-up with its code and sign in. Raises RateLimited, InvalidCode,
        ExpiredCode, TooManyAttempts or InvalidCredentials; an account confirmed already is
        simply signed in."""
        self._limit("confirms", client_ip)
        with suppress(AlreadyConfirmed):
            self._identity.confirm_sign_up(email, code)
        return self.sign_in(email, password, client_ip)

    def resend_code(self, email: str, client_ip: str) -> None:
        """Send a new code if the email has an account waiting for one; raises RateLimited,
        InvalidEmail or TooManyAttempts, and never says whether the account exists."""
        self._limit("resends", client_ip)
        with suppress(UserNotFound, AlreadyConfirmed):
            self._identity.resend_code(normalise_email(email))

    def sign_in(self, email: str, password: str, client_ip: str) -> Session:
        """Raises InvalidCredentials, ConfirmationNeeded or TooManyAttempts."""
        tokens = self._identity.sign_in(email, password, client_ip)
        principal = self._identity.verify(tokens.id_token)
        return Session(principal, tokens.id_token, tokens.refresh_token)

    def refresh(self, refresh_token: str) -> Session:
        """A new ID token for a live refresh token; raises Unauthorized."""
        tokens = self._identity.refresh(refresh_token)
        return Session(self._identity.verify(tokens.id_token), tokens.id_token)

    def authenticate(self, token: str) -> Principal:
        """Who the token speaks for; raises Unauthorized."""
        return self._identity.verify(token)

    def sign_out(self, *tokens: str, refresh_token: str = "") -> None:
        """Revoke each token that is a live one, and end the user's refresh tokens."""
        signed_out = False
        for token in tokens:
            with suppress(Unauthorized):  # expired, forged or revoked already: nothing to do
                self._identity.sign_out(token)
                signed_out = True
        if refresh_token and not signed_out:  # the ID token had expired: find its user
            with suppress(Unauthorized):
                self._identity.sign_out(self._identity.refresh(refresh_token).id_token)

    def _limit(self, action: str, client_ip: str) -> None:
        """Count one `action` (a key of _ACTIONS) against the client's network; raises
        RateLimited."""
        bucket = f"{action}:network:{client_network(client_ip)}"
        hits = ((bucket, rule) for rule in self._sign_up_limits)
        enforce(self._limiter, hits, _ACTIONS[action])

    def delete_account(self, principal: Principal) -> int:
        """Erase the user and every comment they wrote; returns how many comments went."""
        erased = self._comments.erase_author(principal.sub)
        with suppress(UserNotFound):  # a concurrent deletion got there first
            self._identity.delete_user(principal.sub)
        return erased + self._comments.erase_author(principal.sub)
