"""Log in with a per-user password, for the demo users of the local hub only."""

import hmac

from jupyterhub.auth import Authenticator
from traitlets import Dict


class DemoAuthenticator(Authenticator):
    """Each allowed user has their own password; everyone else is refused.

    JupyterHub's DummyAuthenticator has one password for all, which would let a student log
    in as the instructor; here each demo user gets their own, printed by ``make hub``.
    """

    passwords = Dict(
        config=True,
        help="Username -> password. Only these users can log in.",
    )

    async def authenticate(self, handler, data):
        expected = self.passwords.get(data.get("username", ""))
        given = data.get("password", "")
        if expected is None or not hmac.compare_digest(expected.encode(), given.encode()):
            return None
        return data["username"]
