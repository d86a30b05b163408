"""`BrowserToken`: a random token the browser keeps in its localStorage and hands to the page.

Launched runs belong to this token, not to the session: a reload is a new session, but the same
browser, so the page finds its runs again (`LaunchView.owner`). Another browser (or a private
window) has another token. Nothing here leaves the machine: the token is made in the browser.
"""

from __future__ import annotations

import param
from panel.custom import JSComponent


class BrowserToken(JSComponent):
    """Zero-size; `token` arrives (empty until then) once the page has been drawn."""

    token = param.String(default="", doc="the browser's token, '' until the page reports it")

    _esm = """
export function render({ model }) {
  const key = "spike-lab-owner"
  let token = window.localStorage.getItem(key)
  if (!token) {
    token = window.crypto && crypto.randomUUID ? crypto.randomUUID()
      : Math.random().toString(36).slice(2) + Date.now().toString(36)
    window.localStorage.setItem(key, token)
  }
  model.token = token
  return document.createElement("span")
}
"""

    def __init__(self, **params) -> None:
        super().__init__(**{"width": 0, "height": 0, "margin": 0, **params})
