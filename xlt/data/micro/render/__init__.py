"""Renderers of micro programs, one module per language; `SYNTAXES` is the table.

Adding a language is adding a module with a `SYNTAX` entry and one line here.
"""

from __future__ import annotations

from xlt.data.micro.render import cpp, go, js, lua, php, pl, py, rb
from xlt.data.micro.render.base import Signature, Syntax, signature, solution

SYNTAXES: dict[str, Syntax] = {
    module.SYNTAX.code: module.SYNTAX for module in (py, js, lua, rb, php, pl, cpp, go)
}

__all__ = ["SYNTAXES", "Signature", "Syntax", "signature", "solution"]
