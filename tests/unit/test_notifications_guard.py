"""The response guard: each phrase the source articles warn against is caught in Persian and English,
with its rule and a calmer alternative; ordinary polite replies raise no alarm."""

from __future__ import annotations

import pytest

from services.notifications.domain.guard import GuardMode, Rule, check, detect_language, find_phrases
from services.notifications.domain.tone import find_deflecting_phrases

CAUGHT = [
    # (reply, rule, the phrase as written)
    ("Sorry, it's not our business.", Rule.DEFLECTION, "it's not our business"),
    ("That is not our department, please call the store.", Rule.DEFLECTION, "That is not our department"),
    ("This has nothing to do with us.", Rule.DEFLECTION, "nothing to do with us"),
    ("You should have asked before you paid.", Rule.BLAME, "You should have asked"),
    ("Honestly, you shouldn't have bought it.", Rule.BLAME, "you shouldn't have bought"),
    ("You should not have purchased the extended plan.", Rule.BLAME, "You should not have purchased"),
    ("I'm only here to fill in the form.", Rule.FORM_ONLY, "I'm only here to fill in the form"),
    (
        "We are just here to fill out the forms, sorry.",
        Rule.FORM_ONLY,
        "We are just here to fill out the forms",
    ),
    ("I don’t know when it will arrive.", Rule.DONT_KNOW, "I don’t know"),
    ("I do not know who handles refunds.", Rule.DONT_KNOW, "I do not know"),
    # Persian, as in the articles and as agents type them (spacing, ZWNJ, Arabic letters, diacritics)
    ("به مشتری گفتم این موضوع به ما ربطی ندارد.", Rule.DEFLECTION, "به ما ربطی ندارد"),
    ("ببخشید، ربطی به ما ندارد.", Rule.DEFLECTION, "ربطی به ما ندارد"),
    ("این مشکل مربوط به ما نیست.", Rule.DEFLECTION, "مربوط به ما نیست"),
    ("می خواستی نخری!", Rule.BLAME, "می خواستی نخری"),
    ("می‌خواستی نخری", Rule.BLAME, "می‌خواستی نخری"),
    ("ميخواستي نخري", Rule.BLAME, "ميخواستي نخري"),
    ("می پرسیدی تا بهت می گفتم.", Rule.BLAME, "می پرسیدی تا بهت می گفتم"),
    ("شما باید می‌پرسیدید.", Rule.BLAME, "باید می‌پرسیدید"),
    ("من مامورم و معذور.", Rule.FORM_ONLY, "من مامورم و معذور"),
    ("دیگه ما وظیفمون فقط پر کردن همین فرم هاست", Rule.FORM_ONLY, "وظیفمون فقط پر کردن"),
    ("نمی دانم کی می‌رسد.", Rule.DONT_KNOW, "نمی دانم"),
    ("نمی‌دانم.", Rule.DONT_KNOW, "نمی‌دانم"),
    ("نمیدانم", Rule.DONT_KNOW, "نمیدانم"),
    ("نمی‌دانَم", Rule.DONT_KNOW, "نمی‌دانَم"),  # with a diacritic
]


@pytest.mark.parametrize(("reply", "rule", "phrase"), CAUGHT)
def test_each_listed_phrase_is_caught_with_a_suggestion(reply: str, rule: Rule, phrase: str) -> None:
    findings = find_phrases(reply)
    assert [(f.rule, f.phrase) for f in findings][:1] == [(rule, phrase)]
    finding = findings[0]
    assert finding.suggestion
    assert finding.language == detect_language(phrase)
    if finding.language == "fa":
        assert detect_language(finding.suggestion) == "fa"


def test_i_dont_know_suggests_not_informed_and_finding_out() -> None:
    [en] = find_phrases("I don't know.")
    assert "not informed" in en.suggestion and "find out" in en.suggestion
    [fa] = find_phrases("نمی‌دانم")
    assert "اطلاع ندارم" in fa.suggestion


POLITE_EN = [
    "Thank you for your patience while we look into this.",
    "I'm sorry the parcel arrived damaged. I have arranged a replacement for tomorrow.",
    "I have taken ownership of your complaint and will update you by 5 pm today.",
    "I'm not informed about the courier's schedule yet; I'll find out and call you back.",
    "Your refund of 1,200,000 rials was sent this morning.",
    "We have reopened your complaint and the same colleague is on it.",
    "Could you send a photo of the label? It will help us speed this up.",
    "I understand how frustrating this has been, and I'm sorry.",
    "The warranty covers this fault; we will repair it at no cost to you.",
    "I've spoken with the billing team and the duplicate charge has been reversed.",
    "Your appointment has been rebooked for Sunday at 10:00.",
    "Thank you for letting us know; I've passed your feedback to the clinic manager.",
    "I've checked our records and your order shipped on Monday.",
    "We made a mistake here, and we are putting it right.",
    "I will stay with this complaint until it is resolved.",
    "Please reply to this message if anything is still unclear.",
    "The technician will visit between 9 and 12 tomorrow.",
    "I have asked our contracts team to review the response-time clause today.",
    "Your account manager, Mark, is copied in and will join our call.",
    "We are sorry for the delay; the new part has arrived.",
    "I've escalated this to my manager so it gets a decision today.",
    "We know this affects your child's exam, so we have prioritised it.",
    "Thanks for your message. I'm looking into it now.",
    "The school office confirmed the grade correction this afternoon.",
    "Here is what the return policy says, and here is how I can help.",
    "I've recorded your complaint under reference HQ-7KX2-94.",
    "If it's easier, I can call you at a time that suits you.",
    "We have credited your account for the missed service window.",
    "I'm glad the replacement works. Is there anything else I can do?",
    "The doctor's office will contact you to rearrange the visit.",
    "Your data request has been completed and the file is attached.",
    "Please accept our apologies for the confusion on the invoice.",
    "I now know what went wrong: the address label was misprinted.",
    "Let me know if you'd like us to send the summary by post as well.",
]

POLITE_FA = [
    "از صبر و شکیبایی شما سپاسگزاریم.",
    "متأسفم که بسته آسیب دیده به دستتان رسید. کالای جایگزین فردا ارسال می‌شود.",
    "مسئولیت رسیدگی به شکایت شما را بر عهده گرفتم و تا ساعت ۱۷ امروز خبر می‌دهم.",
    "در این مورد اطلاع ندارم؛ پیگیری می‌کنم و به شما خبر می‌دهم.",
    "مبلغ بازپرداخت امروز صبح به حساب شما واریز شد.",
    "شکایت شما دوباره باز شد و همان همکار پیگیر آن است.",
    "لطفاً اگر ممکن است عکسی از برچسب کالا بفرستید تا سریع‌تر رسیدگی کنیم.",
    "کاملاً درک می‌کنم که این وضعیت چقدر آزاردهنده بوده است و عذر می‌خواهم.",
    "این ایراد مشمول گارانتی است و بدون هزینه تعمیر می‌شود.",
    "با واحد مالی صحبت کردم و مبلغ تکراری برگشت داده شد.",
    "نوبت شما برای روز یکشنبه ساعت ۱۰ دوباره ثبت شد.",
    "از اینکه به ما اطلاع دادید ممنونیم؛ نظر شما را به مدیر درمانگاه رساندم.",
    "سفارش شما روز دوشنبه ارسال شده است.",
    "در این مورد اشتباه از ما بوده و در حال جبران آن هستیم.",
    "تا حل شدن کامل موضوع همراه شما هستم.",
    "اگر نکته‌ای هنوز روشن نیست، به همین پیام پاسخ دهید.",
    "تکنسین فردا بین ساعت ۹ تا ۱۲ مراجعه می‌کند.",
    "از تیم قراردادها خواستم بند زمان پاسخگویی را امروز بررسی کنند.",
    "مدیر حساب شما هم در جریان است و در جلسه حضور خواهد داشت.",
    "بابت تأخیر عذر می‌خواهیم؛ قطعه جدید رسیده است.",
    "موضوع را به مدیرم ارجاع دادم تا امروز درباره آن تصمیم گرفته شود.",
    "می‌دانیم این موضوع بر امتحان فرزندتان اثر دارد و آن را در اولویت قرار دادیم.",
    "پیام شما رسید و هم‌اکنون در حال بررسی آن هستم.",
    "دفتر مدرسه امروز اصلاح نمره را تأیید کرد.",
    "شرایط مرجوعی کالا این است و این کاری است که می‌توانم برایتان انجام دهم.",
    "شکایت شما با شماره پیگیری HQ-7KX2-94 ثبت شد.",
    "اگر راحت‌تر است، در زمانی که برایتان مناسب است تماس می‌گیرم.",
    "هزینه خدمات انجام‌نشده به حساب شما برگشت داده شد.",
    "خوشحالم که کالای جایگزین درست کار می‌کند. کار دیگری از دستم برمی‌آید؟",
    "منشی پزشک برای تعیین نوبت جدید با شما تماس می‌گیرد.",
    "درخواست اطلاعات شما انجام شد و فایل پیوست است.",
    "بابت ابهام در صورت‌حساب پوزش می‌خواهیم.",
    "اکنون می‌دانم چه اشتباهی رخ داده است: برچسب نشانی اشتباه چاپ شده بود.",
    "این موضوع به واحد فنی ارجاع شد و من همچنان پیگیر آن هستم.",
]


@pytest.mark.parametrize("reply", POLITE_EN + POLITE_FA)
def test_no_false_alarm_on_ordinary_polite_replies(reply: str) -> None:
    verdict = check(reply, mode=GuardMode.BLOCK)
    assert verdict.findings == ()
    assert verdict.allowed


def test_there_are_at_least_thirty_polite_replies_in_each_language() -> None:
    assert len(POLITE_EN) >= 30 and all(detect_language(r) == "en" for r in POLITE_EN)
    assert len(POLITE_FA) >= 30 and all(detect_language(r) == "fa" for r in POLITE_FA)


def test_warn_mode_allows_and_block_mode_refuses() -> None:
    assert check("It's not our problem.", mode="warn").allowed
    blocked = check("It's not our problem.", mode="block")
    assert not blocked.allowed and blocked.findings[0].rule is Rule.DEFLECTION


def test_length_is_checked_with_a_suggestion_in_the_reply_language() -> None:
    long_en = "We are looking into it. " * 60
    [finding] = check(long_en, max_chars=1200).findings
    assert finding.rule is Rule.TOO_LONG and "1200" in finding.phrase and "short" in finding.suggestion
    [finding_fa] = check("در حال بررسی هستیم. " * 80, max_chars=1200).findings
    assert finding_fa.language == "fa" and "کوتاه" in finding_fa.suggestion
    assert check("Short and calm.", max_chars=1200).findings == ()


def test_mixed_language_reply_finds_both() -> None:
    rules = [(f.language, f.rule) for f in find_phrases("Sorry, I don't know. ربطی به ما ندارد")]
    assert rules == [("en", Rule.DONT_KNOW), ("fa", Rule.DEFLECTION)]


def test_the_tone_helper_reports_phrases_as_written() -> None:
    assert find_deflecting_phrases("Sorry, that's NOT our department.") == ["that's NOT our department"]
    assert find_deflecting_phrases("Thank you for your patience.") == []
