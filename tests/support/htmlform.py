"""What a browser would submit for a form on a page: every named input, select and
textarea inside ``<form id=…>``, as the browser serialises them (checked boxes only, the
selected options, textarea text), so a test can change a few values and post it back."""

from __future__ import annotations

from html.parser import HTMLParser


class _Form(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.depth = 0  # >0 inside the form
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_multiple = False
        self._select_chosen: list[str] = []
        self._select_first: str | None = None
        self._option: dict[str, str | None] | None = None
        self._option_text = ""
        self._textarea: str | None = None
        self._textarea_text = ""
        self._template = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.depth = 1
            return
        if not self.depth:
            return
        if tag == "form":
            self.depth += 1
        if tag == "template":
            self._template += 1
        if self._template:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value") or "on"))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._select_multiple = name, "multiple" in a
            self._select_chosen, self._select_first = [], None
        elif tag == "option" and self._select is not None:
            self._option, self._option_text = a, ""
        elif tag == "textarea" and name:
            self._textarea, self._textarea_text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        if tag == "template":
            self._template -= 1
        elif tag == "form":
            self.depth -= 1
        elif tag == "option" and self._option is not None:
            self._close_option()
        elif tag == "select" and self._select is not None:
            if self._option is not None:
                self._close_option()
            chosen = self._select_chosen or (
                [self._select_first]
                if self._select_first is not None and not self._select_multiple
                else []
            )
            self.fields += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea_text
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None

    def _close_option(self) -> None:
        assert self._option is not None
        value = self._option.get("value")
        value = self._option_text.strip() if value is None else value
        if self._select_first is None:
            self._select_first = value
        if "selected" in self._option:
            self._select_chosen.append(value)
        self._option = None

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option_text += data
        if self._textarea is not None:
            self._textarea_text += data


def form_fields(html: str, form_id: str) -> list[tuple[str, str]]:
    """The (name, value) pairs the form would post, in document order."""
    parser = _Form(form_id)
    parser.feed(html)
    return list(parser.fields)
