"""Accounts as the web API uses them: sign-up limits, sessions, roles and erasure.

`AccountService` sits on an IdentityProvider (sign up, in and out; token checks) and the
CommentService (an erased account takes its comments with it). It speaks no HTTP.

- Sign-ups are rate-limited per client network (SIGN_UP_LIMITS), counted before the email is
  even looked at, so probing which emails have accounts costs the prober as much as signing up.
- A sign-up signs the new customer in at once: it returns a Session like sign-in does. It is
  all or nothing: if that sign-in fails for any reason (the client's network or the email is
  locked out, the signing key is unreadable, the store fails), the new account is deleted
  again and the error goes on, so a failed sign-up leaves nothing behind and can be retried
  as it was.
- Sign-out is idempotent: a token that is missing, expired, forged or already revoked is
  simply nothing to revoke.
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
    IdentityProvider,
    Principal,
    Unauthorized,
    UserNotFound,
)
from nailfolio.ratelimit import RateLimiter, RateRule, client_network, enforce

SIGN_UP_LIMITS = (RateRule(10, 3600),)  # per client network (/24 or /64)


@dataclass(frozen=True)
class Session:
    """A signed-in user: who (as the store has them now) and the token that proves it."""

    principal: Principal
    token: str


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

    def sign_up(self, email: str, password: str, name: str, client_ip: str) -> Session:
        """Create a customer and sign them in. Raises RateLimited, InvalidEmail, WeakPassword,
        InvalidName, AccountExists, TooManyAttempts, or whatever stopped the sign-in (a
        ConfigError for an unusable signing key); after the account was made, it is undone."""
        bucket = f"sign-ups:network:{client_network(client_ip)}"
        enforce(self._limiter, ((bucket, rule) for rule in self._sign_up_limits), "sign-ups")
        user = self._identity.sign_up(email, password, name)
        try:
            return self.sign_in(email, password, client_ip)
        except BaseException:  # not swallowed: undone, then raised again
            with suppress(UserNotFound):
                self._identity.delete_user(user.sub)
            raise

    def sign_in(self, email: str, password: str, client_ip: str) -> Session:
        """Raises InvalidCredentials or TooManyAttempts."""
        tokens = self._identity.sign_in(email, password, client_ip)
        return Session(self._identity.verify(tokens.id_token), tokens.id_token)

    def authenticate(self, token: str) -> Principal:
        """Who the token speaks for; raises Unauthorized."""
        return self._identity.verify(token)

    def sign_out(self, *tokens: str) -> None:
        """Revoke each token that is a live one."""
        for token in tokens:
            with suppress(Unauthorized):  # expired, forged or revoked already: nothing to do
                self._identity.sign_out(token)

    def delete_account(self, principal: Principal) -> int:
        """Erase the user and every comment they wrote; returns how many comments went."""
        erased = self._comments.erase_author(principal.sub)
        with suppress(UserNotFound):  # a concurrent deletion got there first
            self._identity.delete_user(principal.sub)
        return erased + self._comments.erase_author(principal.sub)
