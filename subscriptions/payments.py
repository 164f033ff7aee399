"""Paying for access with Telegram Stars: plans on offer, invoices, payments and refunds.

What a payment buys is decided from our rows alone: Telegram hands back an invoice's payload,
and the payload only names an `Invoice` row.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from subscriptions.models import Invoice, Payment, Plan, Subscriber, Subscription
from subscriptions.registration import access_until, extend_access, supported_language

logger = logging.getLogger(__name__)

CURRENCY = "XTR"  # Telegram Stars


class Refusal:
    """Why a checkout is refused; the chat words each one for the payer."""

    UNKNOWN_INVOICE = "unknown_invoice"
    PLAN_WITHDRAWN = "plan_withdrawn"
    PRICE_CHANGED = "price_changed"
    NOT_THE_PAYER = "not_the_payer"


def active_plans():
    return list(Plan.objects.filter(is_active=True))


def open_invoice(chat_id, user_id, plan_id):
    """An invoice for this chat's subscriber and an active plan; None if either is missing."""
    subscriber = Subscriber.objects.filter(chat_id=chat_id).first()
    plan = Plan.objects.filter(pk=plan_id, is_active=True).first()
    if subscriber is None or plan is None:
        return None
    return Invoice.objects.create(
        payload=secrets.token_urlsafe(12),
        subscriber=subscriber,
        plan=plan,
        user_id=user_id,
        stars=plan.stars,
    )


@dataclass
class CheckoutVerdict:
    refusal: str | None  # None: Telegram may take the Stars
    language: str


def check_checkout(payload, user_id, currency, total_amount):
    """Whether a pre-checkout query may go ahead, judged by the invoice row it names."""
    invoice = Invoice.objects.select_related("plan", "subscriber").filter(payload=payload).first()
    if invoice is None:
        return CheckoutVerdict(Refusal.UNKNOWN_INVOICE, "")

    language = supported_language(invoice.subscriber.language)
    plan = invoice.plan
    if not plan.is_active:
        refusal = Refusal.PLAN_WITHDRAWN
    elif invoice.user_id != user_id:
        refusal = Refusal.NOT_THE_PAYER
    elif currency != CURRENCY or total_amount != invoice.stars or plan.stars != invoice.stars:
        refusal = Refusal.PRICE_CHANGED
    else:
        refusal = None
    return CheckoutVerdict(refusal, language)


class UnknownInvoice(Exception):
    """A payment names an invoice we do not have."""


@dataclass
class PaymentOutcome:
    payment_id: int
    is_new: bool
    access_until: datetime
    language: str


def record_payment(payload, user_id, charge_id, total_amount):
    """Record a successful payment and extend access by its plan, once per Telegram charge.

    The insert and the extension share one transaction, and the unique charge id lets only
    one of two deliveries of the same payment insert: the other extends nothing.
    """
    invoice = Invoice.objects.select_related("plan", "subscriber").filter(payload=payload).first()
    if invoice is None:
        raise UnknownInvoice(payload)
    subscriber, plan = invoice.subscriber, invoice.plan

    with transaction.atomic():
        payment = insert_payment(subscriber, plan, user_id, charge_id, total_amount)
        is_new = payment is not None
        if is_new:
            extend_access(subscriber, payment.days, kind=Subscription.Kind.PAID)

    if is_new:
        logger.info(
            "payment %s: charge %s, chat %s, plan %s, %d stars, %d days",
            payment.pk, charge_id, subscriber.chat_id, plan.pk, payment.stars, payment.days,
        )  # fmt: skip
    else:
        payment = Payment.objects.get(telegram_payment_charge_id=charge_id)
        logger.info("payment %s: charge %s delivered again, nothing added", payment.pk, charge_id)
    return PaymentOutcome(
        payment.pk, is_new, access_until(subscriber), supported_language(subscriber.language)
    )


def insert_payment(subscriber, plan, user_id, charge_id, total_amount):
    """Insert the payment row; None if this charge is already recorded."""
    try:
        with transaction.atomic():
            return Payment.objects.create(
                subscriber=subscriber,
                plan=plan,
                stars=total_amount,
                days=plan.days,
                user_id=user_id,
                telegram_payment_charge_id=charge_id,
            )
    except IntegrityError:
        if Payment.objects.filter(telegram_payment_charge_id=charge_id).exists():
            return None
        raise


def mark_refunded(payment_id):
    """After Telegram returned the Stars: mark the payment refunded and take its days back.

    Returns the new end of access, or None when the payment was already marked refunded.
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = Payment.objects.filter(pk=payment_id, refunded_at__isnull=True).update(
            refunded_at=now
        )
        if not claimed:
            return None
        payment = Payment.objects.select_related("subscriber").get(pk=payment_id)
        new_end = shorten_access(payment.subscriber, payment.days, now)

    logger.info(
        "refunded payment %s: charge %s, chat %s, %d stars, access until %s",
        payment.pk, payment.telegram_payment_charge_id, payment.subscriber.chat_id,
        payment.stars, new_end,
    )  # fmt: skip
    return new_end


def shorten_access(subscriber, days, now):
    """Take `days` off the latest active subscription, never ending it before now."""
    current = (
        subscriber.subscriptions.select_for_update()
        .filter(state=Subscription.State.ACTIVE, expires_at__gt=now)
        .order_by("-expires_at")
        .first()
    )
    if current is None:
        return now
    current.expires_at = max(now, current.expires_at - timedelta(days=days))
    current.save(update_fields=["expires_at"])
    return current.expires_at
