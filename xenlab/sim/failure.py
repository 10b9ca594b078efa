"""A XenAPI failure: what XAPI sends as {"Status": "Failure", "ErrorDescription": [code, params...]}."""

from __future__ import annotations


class Failure(Exception):
    """The code and parameters of ErrorDescription (every parameter a string, as on the wire)."""

    def __init__(self, code: str, *params):
        super().__init__(code, *params)
        self.description = [code] + [str(p) for p in params]

    @property
    def code(self) -> str:
        return self.description[0]
