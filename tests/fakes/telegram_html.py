"""Telegram's HTML parse mode, as the fake Bot API applies it: the plain text a user sees and
its entities, or the reason Telegram would refuse the markup."""

import re
from html.parser import HTMLParser


class MarkupError(ValueError):
    """Markup Telegram refuses; the message is Telegram's reason."""


ENTITY_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "code": "code", "pre": "pre", "a": "text_link", "tg-spoiler": "spoiler",
    "span": "spoiler", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip


def parse_html(markup):
    """Telegram's HTML parse mode: the plain text and its entities, or its 400 on bad markup."""
    # Python's parser reads a stray "<" as text; Telegram refuses it as a nameless tag.
    stray = re.search(r"<(?![A-Za-z/])", markup)
    if stray:
        offset = len(markup[: stray.start()].encode())
        raise MarkupError(f'Unsupported start tag "" at byte offset {offset}')

    parser = _TelegramHtml(markup)
    parser.feed(markup)
    parser.close()
    if parser.open_tags:
        tag = parser.open_tags[-1][0]
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{tag}"')
    return parser.text, sorted(parser.entities, key=lambda e: e["offset"])


class _TelegramHtml(HTMLParser):
    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.markup = markup
        self.text = ""
        self.entities = []
        self.open_tags = []  # (tag, entity start in UTF-16 units, attributes)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in ENTITY_TAGS or (tag == "span" and attrs.get("class") != "tg-spoiler"):
            raise MarkupError(
                f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            )
        self.open_tags.append((tag, utf16_len(self.text), attrs))

    def handle_endtag(self, tag):
        if not self.open_tags or self.open_tags[-1][0] != tag:
            raise MarkupError(f"Unexpected end tag at byte offset {self._byte_offset()}")

        _, start, attrs = self.open_tags.pop()
        entity = {"type": ENTITY_TAGS[tag], "offset": start}
        entity["length"] = utf16_len(self.text) - start
        if tag == "a":
            entity["url"] = attrs.get("href") or ""  # already unescaped by the parser
        if entity["length"]:
            self.entities.append(entity)

    def handle_data(self, data):
        self.text += data

    def _byte_offset(self):
        line, column = self.getpos()
        lines = self.markup.splitlines(keepends=True)
        return len(("".join(lines[: line - 1]) + lines[line - 1][:column]).encode())


def utf16_len(text):
    return len(text.encode("utf-16-le")) // 2
