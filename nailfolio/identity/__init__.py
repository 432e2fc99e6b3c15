"""Who is signed in: the identity port, users and tokens, the account service."""
