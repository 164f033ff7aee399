"""Fakes at the process boundary: the Telegram Bot API and a listing site, on 127.0.0.1."""
