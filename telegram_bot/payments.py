"""Renewing in the chat with Telegram Stars: /renew, the plan buttons, the invoice, the receipt.

Telegram shows the invoice and takes the Stars; what may be bought, by whom and for how much
is decided by `subscriptions.payments` from our own rows.
"""

import functools
import logging

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import LabeledPrice, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from runtime.db import db
from subscriptions import payments
from subscriptions.payments import Refusal
from subscriptions.registration import supported_language
from telegram_bot.chat import register_chat, speak_their_language
from telegram_bot.client import make_bot
from telegram_bot.handlers import PatternButtonHandler
from telegram_bot.staff import tell_staff

logger = logging.getLogger(__name__)

# chat.py's group 0 ends in catch-alls (every button, every message) and group -1 only picks
# the language, so payments get a group that runs before both and ends the update there.
PAYMENTS_GROUP = -2
PLAN_BUTTON = "plan:"


def register_payment_handlers(application):
    handlers = [
        CommandHandler("renew", renew),
        PatternButtonHandler(choose_plan, pattern=rf"^{PLAN_BUTTON}\d+$"),
        PreCheckoutQueryHandler(check_checkout),
        MessageHandler(filters.SUCCESSFUL_PAYMENT, confirm_payment),
    ]
    for handler in handlers:
        application.add_handler(handler, group=PAYMENTS_GROUP)


def handled_here(callback):
    """Run a payments handler in the renter's language, and let no later group see the update.

    An error goes to the application's error handlers here, since the catch-alls of later
    groups would otherwise answer the same update a second time.
    """

    @functools.wraps(callback)
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE):
        await speak_their_language(update, context)
        try:
            await callback(update, context)
        except Exception as error:
            await context.application.process_error(update, error)
        raise ApplicationHandlerStop

    return handler


# -- choosing a plan ---------------------------------------------------------------------------


@handled_here
async def renew(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Lists the plans on offer, one button each."""
    registered = await register_chat(update)
    plans = await db(payments.active_plans)()
    with translation.override(registered.language or "en"):
        text, keyboard = plans_screen(plans)
    await update.effective_message.reply_html(text, reply_markup=keyboard)


def plans_screen(plans):
    if not plans:
        return _("Nothing is on offer right now; please try again later."), None
    text = _(
        "⭐ Renew your access with Telegram Stars: the days you buy are added to the ones "
        "you have."
    )
    buttons = [
        [Button(f"{plan.name} · {plan.stars} ⭐", callback_data=f"{PLAN_BUTTON}{plan.pk}")]
        for plan in plans
    ]
    return text + "\n" + _("Choose a plan:"), Keyboard(buttons)


@handled_here
async def choose_plan(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Sends the invoice for the pressed plan; a withdrawn plan shows the current ones."""
    query = update.callback_query
    chat_id = update.effective_chat.id
    plan_id = int(query.data.removeprefix(PLAN_BUTTON))
    invoice = await db(payments.open_invoice)(chat_id, update.effective_user.id, plan_id)
    if invoice is None:
        await query.answer(_("That plan is no longer offered."))
        text, keyboard = plans_screen(await db(payments.active_plans)())
        await context.bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=keyboard)
        return

    await query.answer()
    plan = invoice.plan
    await context.bot.send_invoice(
        chat_id,
        title=plan.name,
        description=invoice_description(plan.days),
        payload=invoice.payload,
        currency=payments.CURRENCY,
        prices=[LabeledPrice(plan.name, invoice.stars)],
        provider_token="",
    )
    logger.info(
        "invoice %s sent to chat %s: plan %s, %d stars",
        invoice.pk, chat_id, plan.pk, invoice.stars,
    )  # fmt: skip


def invoice_description(days):
    return ngettext(
        "%(n)d day of new listings from Rentwatch, added to the access you have.",
        "%(n)d days of new listings from Rentwatch, added to the access you have.",
        days,
    ) % {"n": days}


# -- paying ------------------------------------------------------------------------------------


@handled_here
async def check_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Lets Telegram take the Stars only for an invoice we issued, at its price, to its payer."""
    query = update.pre_checkout_query
    verdict = await db(payments.check_checkout)(
        query.invoice_payload, query.from_user.id, query.currency, query.total_amount
    )
    if verdict.refusal is None:
        await query.answer(ok=True)
        return

    logger.info(
        "checkout %s by user %s refused: %s (%s %s)",
        query.id, query.from_user.id, verdict.refusal, query.total_amount, query.currency,
    )  # fmt: skip
    language = verdict.language or supported_language(query.from_user.language_code)
    with translation.override(language):
        await query.answer(ok=False, error_message=refusal_text(verdict.refusal))


def refusal_text(refusal):
    return {
        Refusal.UNKNOWN_INVOICE: _("This invoice is no longer valid: send /renew for a new one."),
        Refusal.PLAN_WITHDRAWN: _("This plan is no longer offered: send /renew for the others."),
        Refusal.PRICE_CHANGED: _("The price has changed: send /renew for a new invoice."),
        Refusal.NOT_THE_PAYER: _("This invoice is for someone else: send /renew for your own."),
    }[refusal]


@handled_here
async def confirm_payment(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Extends access by the paid plan (once per charge) and says until when."""
    paid = update.effective_message.successful_payment
    charge_id = paid.telegram_payment_charge_id
    try:
        outcome = await db(payments.record_payment)(
            paid.invoice_payload, update.effective_user.id, charge_id, paid.total_amount
        )
    except payments.UnknownInvoice:
        await unmatched_payment(update, context, charge_id)
        return

    if outcome.access_until is None:
        return  # a repeated delivery of a payment staff have refunded since: nothing to say
    with translation.override(outcome.language):
        until = formats.date_format(timezone.localtime(outcome.access_until), "j M Y")
        text = _("⭐ Thank you, payment received! Your access runs until <b>{date}</b>.")
        await update.effective_message.reply_html(text.format(date=until))


async def unmatched_payment(update, context, charge_id):
    """Stars arrived for an invoice we cannot find: staff must sort it out by hand."""
    user_id = update.effective_user.id
    logger.error("payment charge %s by user %s names no invoice of ours", charge_id, user_id)
    await tell_staff(
        context.bot,
        f"A payment names no invoice of ours: charge {charge_id}, user {user_id}. "
        "Extend their access by hand or refund it.",
    )
    await update.effective_message.reply_html(
        _(
            "Your payment arrived, but I could not tell which plan it was for. "
            "The Rentwatch team has been told and will sort it out."
        )
    )


# -- refunds (called from admin) ---------------------------------------------------------------


async def refund_charges(charges):
    """Ask Telegram to return each (user id, charge id)'s Stars.

    Returns Telegram's error text per charge id, None where the refund went through.
    """
    errors = {}
    async with make_bot(pool_size=1) as bot:
        for user_id, charge_id in charges:
            try:
                await bot.refund_star_payment(user_id, charge_id)
                errors[charge_id] = None
            except TelegramError as error:
                errors[charge_id] = error.message
    return errors
