"""Renewing with Telegram Stars: /renew, the invoice, the checkout, the payment, the refund."""

import threading
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from subscriptions import payments
from subscriptions.models import Invoice, Payment, Plan, Subscriber, Subscription
from subscriptions.registration import access_until
from tests import factories as make

pytestmark = pytest.mark.django_db(transaction=True)

RITA, OLEG = 4501, 4502


@pytest.fixture
def plans():
    return {
        "week": Plan.objects.create(name="Week", days=7, stars=75, ordering=0),
        "month": Plan.objects.create(name="Month", days=30, stars=250, ordering=1),
        "old": Plan.objects.create(name="Old year", days=365, stars=900, is_active=False),
    }


@pytest.fixture
def rita():
    return make.subscriber(chat_id=RITA)


def ask_for_invoice(fake_telegram, plan_name):
    """Rita sends /renew, presses a plan, and gets its invoice; returns the sendInvoice call."""
    fake_telegram.send_message(RITA, "/renew")
    fake_telegram.press(RITA, plan_name)
    return fake_telegram.wait_for(
        lambda: fake_telegram.calls_to("sendInvoice"), message="the bot sends an invoice"
    )[-1]


def pay(fake_telegram, payload, stars, charge_id):
    fake_telegram.successful_payment(RITA, payload, stars, charge_id)
    return fake_telegram.wait_for_message(RITA, "payment received")


def shown(moment):
    return formats.date_format(timezone.localtime(moment), "j M Y")


# -- choosing a plan


def test_renew_offers_each_active_plan_as_a_button(running_bot, fake_telegram, plans, rita):
    fake_telegram.send_message(RITA, "/renew")

    reply = fake_telegram.wait_for_message(RITA, "Choose a plan")

    assert reply["buttons"] == [
        ("Week · 75 ⭐", f"plan:{plans['week'].pk}"),
        ("Month · 250 ⭐", f"plan:{plans['month'].pk}"),
    ]


def test_renew_speaks_russian_to_a_russian_speaker(running_bot, fake_telegram, plans, rita):
    Subscriber.objects.filter(pk=rita.pk).update(language="ru")

    fake_telegram.send_message(RITA, "/renew")

    fake_telegram.wait_for_message(RITA, "Выберите тариф")


def test_renew_with_no_plan_on_offer_says_so(running_bot, fake_telegram, rita):
    fake_telegram.send_message(RITA, "/renew")

    reply = fake_telegram.wait_for_message(RITA, "Nothing is on offer")

    assert reply["buttons"] == []


def test_pressing_a_plan_sends_an_invoice_in_stars_at_its_price(
    running_bot, fake_telegram, plans, rita
):
    call = ask_for_invoice(fake_telegram, "Month")

    assert call.params["currency"] == "XTR"
    assert call.params["provider_token"] == ""
    assert [price["amount"] for price in call.params["prices"]] == [250]
    invoice = fake_telegram.wait_for(lambda: fake_telegram.last_message(RITA).get("invoice"))
    assert invoice["total_amount"] == 250 and invoice["title"] == "Month"
    # The payload is an opaque id: it says nothing a payer could change to pay less.
    payload = call.params["payload"]
    assert "250" not in payload and len(payload.encode()) <= 32
    assert Invoice.objects.get(payload=payload).plan == plans["month"]


def test_a_plan_withdrawn_since_the_list_was_shown_sends_no_invoice(
    running_bot, fake_telegram, plans, rita
):
    fake_telegram.send_message(RITA, "/renew")
    fake_telegram.wait_for_message(RITA, "Choose a plan")
    Plan.objects.filter(pk=plans["month"].pk).update(is_active=False)

    fake_telegram.press(RITA, "Month")

    fake_telegram.wait_for(
        lambda: any(
            "no longer offered" in a.get("text", "") for a in fake_telegram.answered_callbacks()
        ),
        message="the press is answered with the plan withdrawn",
    )
    fake_telegram.wait_until_idle()
    assert fake_telegram.calls_to("sendInvoice") == []


# -- the checkout


def test_a_checkout_at_the_invoiced_price_is_accepted(running_bot, fake_telegram, plans, rita):
    payload = ask_for_invoice(fake_telegram, "Month").params["payload"]

    query_id = fake_telegram.pre_checkout(RITA, payload, 250)

    assert fake_telegram.checkout_answer(query_id)["ok"] is True


def test_a_checkout_with_a_forged_amount_is_refused(running_bot, fake_telegram, plans, rita):
    payload = ask_for_invoice(fake_telegram, "Month").params["payload"]

    query_id = fake_telegram.pre_checkout(RITA, payload, 1)

    answer = fake_telegram.checkout_answer(query_id)
    assert answer["ok"] is False
    assert "price has changed" in answer["error_message"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("withdraw the plan", "no longer offered"),
        ("raise the price", "price has changed"),
        ("another payer", "for someone else"),
        ("unknown payload", "no longer valid"),
    ],
)
def test_a_checkout_the_invoice_does_not_cover_is_refused(
    running_bot, fake_telegram, plans, rita, change, error
):
    payload = ask_for_invoice(fake_telegram, "Month").params["payload"]
    payer = RITA
    if change == "withdraw the plan":
        Plan.objects.filter(pk=plans["month"].pk).update(is_active=False)
    elif change == "raise the price":
        Plan.objects.filter(pk=plans["month"].pk).update(stars=300)
    elif change == "another payer":
        payer = OLEG
    else:
        payload = "forged"

    answer = fake_telegram.checkout_answer(fake_telegram.pre_checkout(payer, payload, 250))

    assert answer["ok"] is False
    assert error in answer["error_message"]


# -- the payment


def test_a_payment_extends_access_from_its_current_end(running_bot, fake_telegram, plans, rita):
    end = access_until(rita)
    payload = ask_for_invoice(fake_telegram, "Month").params["payload"]

    reply = pay(fake_telegram, payload, 250, "charge-1")

    assert access_until(rita) == end + timedelta(days=30)
    assert shown(end + timedelta(days=30)) in reply["text"]
    payment = Payment.objects.get()
    assert (payment.subscriber, payment.plan, payment.stars) == (rita, plans["month"], 250)
    assert payment.telegram_payment_charge_id == "charge-1" and payment.user_id == RITA


def test_a_payment_after_access_ended_counts_from_now(running_bot, fake_telegram, plans, rita):
    rita.subscriptions.update(
        state=Subscription.State.EXPIRED, expires_at=timezone.now() - timedelta(days=20)
    )
    payload = ask_for_invoice(fake_telegram, "Week").params["payload"]

    before = timezone.now()
    pay(fake_telegram, payload, 75, "charge-1")

    end = access_until(rita)
    assert before + timedelta(days=7) <= end <= timezone.now() + timedelta(days=7)
    assert rita.subscriptions.get(expires_at=end).kind == Subscription.Kind.PAID


def test_the_same_charge_delivered_twice_extends_once(running_bot, fake_telegram, plans, rita):
    end = access_until(rita)
    payload = ask_for_invoice(fake_telegram, "Month").params["payload"]

    pay(fake_telegram, payload, 250, "charge-1")
    fake_telegram.successful_payment(RITA, payload, 250, "charge-1")
    fake_telegram.wait_for(
        lambda: (
            len([m for m in fake_telegram.messages(RITA) if "payment received" in m["text"]]) == 2
        ),
        message="the second delivery is confirmed too",
    )

    assert access_until(rita) == end + timedelta(days=30)
    assert Payment.objects.count() == 1


def test_concurrent_deliveries_of_one_charge_extend_once(plans, rita):
    end = access_until(rita)
    invoice = payments.open_invoice(RITA, RITA, plans["month"].pk)
    start = threading.Barrier(4)
    outcomes = []

    def deliver():
        from django.db import connection

        start.wait()
        try:
            outcomes.append(payments.record_payment(invoice.payload, RITA, "charge-1", 250))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcome.is_new for outcome in outcomes) == [False, False, False, True]
    assert access_until(rita) == end + timedelta(days=30)


# -- refunds from admin


def refund_in_admin(admin_client, payment):
    changelist = reverse("admin:subscriptions_payment_changelist")
    response = admin_client.post(
        changelist, {"action": "refund", "_selected_action": [payment.pk]}, follow=True
    )
    return response.content.decode()


def test_staff_refund_returns_the_stars_and_takes_the_days_back(
    running_bot, fake_telegram, plans, rita, admin_client
):
    end = access_until(rita)
    payload = ask_for_invoice(fake_telegram, "Month").params["payload"]
    pay(fake_telegram, payload, 250, "charge-1")

    payment = Payment.objects.get()
    page = refund_in_admin(admin_client, payment)

    [call] = fake_telegram.calls_to("refundStarPayment")
    assert call.params == {"user_id": RITA, "telegram_payment_charge_id": "charge-1"}
    assert call.response["ok"]
    assert Payment.objects.get().refunded_at is not None
    assert access_until(rita) == end
    assert f"Payment {payment.pk} refunded: {payment.subscriber} has access until" in page


def test_a_refund_never_ends_access_before_now(
    telegram_settings, fake_telegram, plans, rita, admin_client
):
    invoice = payments.open_invoice(RITA, RITA, plans["month"].pk)
    # Telegram knows the charge; no bot is polling, so the update itself goes unread.
    fake_telegram.successful_payment(RITA, invoice.payload, 250, "charge-1")
    payments.record_payment(invoice.payload, RITA, "charge-1", 250)
    # Staff shortened her access by hand since: the refund must not push it into the past.
    rita.subscriptions.update(expires_at=timezone.now() + timedelta(days=2))

    before = timezone.now()
    refund_in_admin(admin_client, Payment.objects.get())

    assert fake_telegram.calls_to("refundStarPayment")[0].response["ok"]
    latest = rita.subscriptions.order_by("-expires_at").first()
    assert before <= latest.expires_at <= timezone.now()


def test_a_refund_telegram_refuses_shows_its_error_and_changes_nothing(
    telegram_settings, fake_telegram, plans, rita, admin_client
):
    invoice = payments.open_invoice(RITA, RITA, plans["month"].pk)
    payments.record_payment(invoice.payload, RITA, "charge-1", 250)
    end = access_until(rita)
    fake_telegram.fail_next(
        "refundStarPayment", error_code=400, description="Bad Request: CHARGE_NOT_FOUND"
    )

    page = refund_in_admin(admin_client, Payment.objects.get())

    assert "Telegram says “Charge_not_found”" in page
    assert Payment.objects.get().refunded_at is None
    assert access_until(rita) == end


def test_a_rejected_token_refunds_nothing_and_stays_off_the_admin_page(
    telegram_settings, fake_telegram, plans, rita, admin_client
):
    invoice = payments.open_invoice(RITA, RITA, plans["month"].pk)
    payments.record_payment(invoice.payload, RITA, "charge-1", 250)
    fake_telegram.fail_next("getMe", error_code=401, description="Unauthorized")

    page = refund_in_admin(admin_client, Payment.objects.get())

    assert "Nothing refunded" in page
    assert fake_telegram.token not in page
    assert Payment.objects.get().refunded_at is None


def test_a_charge_telegram_already_refunded_is_marked_refunded(
    telegram_settings, fake_telegram, plans, rita, admin_client
):
    end = access_until(rita)
    invoice = payments.open_invoice(RITA, RITA, plans["month"].pk)
    payments.record_payment(invoice.payload, RITA, "charge-1", 250)
    fake_telegram.fail_next(
        "refundStarPayment", error_code=400, description="Bad Request: CHARGE_ALREADY_REFUNDED"
    )

    page = refund_in_admin(admin_client, Payment.objects.get())

    assert f"Payment {Payment.objects.get().pk} refunded" in page
    assert Payment.objects.get().refunded_at is not None
    assert access_until(rita) == end


def test_a_payment_for_no_invoice_of_ours_is_handed_to_staff(
    settings, running_bot, fake_telegram, plans, rita
):
    settings.TELEGRAM_STAFF_IDS = [OLEG]
    end = access_until(rita)

    fake_telegram.successful_payment(RITA, "forged", 250, "charge-1")

    fake_telegram.wait_for_message(RITA, "could not tell which plan")
    fake_telegram.wait_for_message(OLEG, "charge-1")
    assert access_until(rita) == end


def test_payments_are_read_only_in_admin(admin_client, plans, rita):
    invoice = payments.open_invoice(RITA, RITA, plans["month"].pk)
    payment = Payment.objects.get(
        pk=payments.record_payment(invoice.payload, RITA, "c", 250).payment_id
    )

    page = admin_client.get(reverse("admin:subscriptions_payment_change", args=[payment.pk]))

    assert page.status_code == 200
    assert 'name="stars"' not in page.content.decode()
    add = admin_client.get(reverse("admin:subscriptions_payment_add"))
    assert add.status_code == 403
