"""The people, products and support stories the demo connector draws its simulated traffic from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from agentconsole.domain.models import Channel, Person

SHOP = "Juniper & Co"

# (account name, channel, our handle, display name) for the demo workspace, one account per channel.
DEMO_ACCOUNTS: tuple[tuple[str, Channel, str, str], ...] = (
    ("demo-x", Channel.X, "@juniper_co", f"{SHOP} (demo)"),
    ("demo-facebook", Channel.FACEBOOK, "juniperandco", f"{SHOP} (demo)"),
    ("demo-mastodon", Channel.MASTODON, "@juniper@mastodon.social", f"{SHOP} (demo)"),
    ("demo-bluesky", Channel.BLUESKY, "juniperco.bsky.social", f"{SHOP} (demo)"),
    ("demo-email", Channel.EMAIL, "hello@juniper-co.example", f"{SHOP} (demo)"),
)

ITEMS = ("linen apron", "stoneware mug", "merino beanie", "oak serving board", "canvas tote",
         "beeswax candle", "linen shirt", "ceramic planter", "wool throw", "enamel teapot")
WARES = ("stoneware mug", "ceramic bowl", "enamel teapot", "stoneware plate", "ceramic planter")
GARMENTS = ("linen shirt", "wool cardigan", "linen dress", "cotton overshirt")
SIZES = ("S", "M", "L", "XL", "38", "40")
DAYS = ("Sunday", "Saturday", "Friday", "Monday", "the 24th", "Boxing Day")
PLACES = ("Norway", "Canada", "Japan", "Greece", "Ireland", "Australia", "Shanghai", "Jordan")
CITIES = ("Leeds", "Porto", "Lyon", "Gdańsk", "Cork", "Utrecht", "Bergen")


@dataclass(frozen=True, slots=True)
class Persona:
    """A simulated customer; their handle on each channel is derived from ``base``."""

    name: str
    base: str
    location: str = ""
    bio: str = ""
    # Openers in the customer's own language: (scenario topic, text, placeholder values it implies).
    native: tuple[tuple[str, str, dict[str, str]], ...] = ()


PEOPLE: tuple[Persona, ...] = (
    Persona("Dana Kim", "dana_k", "Boston", "Product designer. Coffee, cats, ceramics."),
    Persona("Sam Ortiz", "sam_ortiz", "Austin"),
    Persona("Priya Raman", "priya_r", "Bengaluru", "Runs a tiny bakery 🥐"),
    Persona("李娜", "lina_sh", "上海", "喜欢陶瓷和咖啡",
            (("shipping abroad", "你好！请问可以寄到上海吗？运费多少？", {"place": "China"}),)),
    Persona("Αλέξανδρος Παπαδόπουλος", "alex_pap", "Αθήνα", "",
            (("shipping abroad", "Γεια σας! Στέλνετε στην Ελλάδα; Πόσο κάνουν τα μεταφορικά;",
              {"place": "Greece"}),)),
    Persona("محمد العلي", "m_alali", "عمّان", "",
            (("store hours", "مرحبا، هل المتجر مفتوح يوم الجمعة؟", {"day": "Friday"}),)),
    Persona("Zoë Fischer", "zoe_fischer", "Berlin", "she/her · textile nerd"),
    Persona("Søren Holm", "soren_holm", "Aarhus"),
    Persona("Nguyễn Thị Mai", "maithi", "Hà Nội"),
    Persona("Юлия Смирнова", "yulia_s", "Tallinn", "",
            (("where is my order", "Здравствуйте! Где мой заказ {order}? Трекинг не обновляется уже неделю.",
              {}),)),
    Persona("Kwame Mensah", "kwame_m", "Accra", "Dad of three. Fixes things."),
    Persona("Aisha Bello", "aisha_b", "Lagos"),
    Persona("Lucas Moreau", "lucas_moreau", "Lyon"),
    Persona("佐藤 花", "hana_sato", "東京", "朝ごはん担当",
            (("praise", "マグカップが届きました！とても素敵です 🥰 ありがとうございます", {"item": "stoneware mug"}),)),
    Persona("🌻 Sunny Days", "sunnydays", "Cornwall", "gardens, tea, knitting"),
    Persona("Bee 🐝 Martinez", "beemartinez", "Santa Fe"),
    Persona("Tom ✨", "tom_sparkle", "Leeds"),
    Persona("Jordan Lee", "jordan_lee", "Toronto"),
    Persona("Marta Kowalska", "marta_kow", "Gdańsk"),
    Persona("Ravi Patel", "ravi_p", "Leicester", "Accountant by day"),
    Persona("Chloé Dubois", "chloe_db", "Montréal"),
    Persona("Ben Carter", "ben_carter", "Bristol"),
    Persona("Grace O'Neill", "grace_oneill", "Cork"),
    Persona("Diego Hernández", "diego_hz", "Valencia"),
    Persona("Emma Johansson", "emma_j", "Göteborg"),
    Persona("Leila Haddad", "leila_h", "Beirut"),
    Persona("Ingrid Berg", "ingrid_berg", "Bergen", "Ceramicist. Slow living."),
    Persona("Mo Adeyemi", "mo_adeyemi", "London"),
    Persona("Rosa 🌹", "rosa_reads", "Porto", "books > people"),
    Persona("Aylin Yılmaz", "aylin_y", "İzmir"),
    Persona("the plant lady 🪴", "plantlady", "Utrecht", "412 houseplants and counting"),
    Persona("Jonas Becker", "jonas_b", "Hamburg"),
    Persona("Fatima Zahra", "fatima_z", "Casablanca"),
    Persona("Ken Watanabe", "ken_w", "Osaka"),
)

# Strings that would drive the terminal or Textual markup if shown raw: the UI must show them inert.
HOSTILE_PEOPLE: tuple[Persona, ...] = (
    Persona("[@click=app.quit]Claim your prize", "prize_claims", "", "[b]FREE[/b] gift cards"),
    Persona("dev [/] null [bold red]", "devnull_42", "/dev/null"),
    Persona("Refund Desk \u202egnp.exe", "refund_desk", ""),
)
HOSTILE_TEXTS: tuple[str, ...] = (
    "\x1b[2J\x1b[31mURGENT\x1b[0m my order {order} never came and nobody answers!!",
    "\x1b]0;you have been hacked\x07hi, is the {item} back in stock?",
    "[@click=app.quit]click here[/] for my order {order} photos",
)
# Which hostile name or opening text each channel's backfill carries.
HOSTILE: dict[Channel, tuple[Persona | None, str | None]] = {
    Channel.X: (HOSTILE_PEOPLE[0], HOSTILE_TEXTS[2]),
    Channel.MASTODON: (HOSTILE_PEOPLE[1], None),
    Channel.BLUESKY: (HOSTILE_PEOPLE[2], None),
    Channel.FACEBOOK: (None, HOSTILE_TEXTS[1]),
    Channel.EMAIL: (None, HOSTILE_TEXTS[0]),
}
# Customers whose names are in non-Latin scripts; every channel's backfill features some of them.
FEATURED = tuple(p for p in PEOPLE if any(ch.isalpha() and ord(ch) > 0x36F for ch in p.name))

MASTODON_INSTANCES = ("mastodon.social", "fosstodon.org", "hachyderm.io", "mstdn.jp",
                      "mastodon.art", "chaos.social", "toot.cafe", "social.vivaldi.net")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "studio.example")


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def person_for(persona: Persona, channel: Channel) -> Person:
    """How *persona* appears on *channel*: the handle and id shapes that platform uses."""
    base, n = persona.base, _digest(persona.base)
    if channel == Channel.X:
        handle, external_id = f"@{base}", str(10**17 + n % 10**17)
    elif channel == Channel.MASTODON:
        instance = MASTODON_INSTANCES[n % len(MASTODON_INSTANCES)]
        handle = f"@{base}@{instance}"
        external_id = handle[1:]
    elif channel == Channel.BLUESKY:
        handle = f"{base.replace('_', '')}.bsky.social"
        external_id = f"did:plc:{n:016x}"
    elif channel == Channel.EMAIL:
        handle = f"{base.replace('_', '.')}@{EMAIL_DOMAINS[n % len(EMAIL_DOMAINS)]}"
        external_id = handle
    else:  # Facebook and Instagram identify people by page-scoped numeric ids
        handle, external_id = base.replace("_", "."), str(10**15 + n % 10**15)
    return Person(external_id=external_id, handle=handle, display_name=persona.name,
                  bio=persona.bio, location=persona.location)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One kind of support story: how a customer opens it, nudges, what we answer, how they react.

    ``openers`` pairs each way of opening the story with our answer to it; ``after`` pairs a
    customer's reaction to our answer with our reply to that (None: a short closing). Texts use the
    placeholders {order} {item} {ware} {garment} {size} {day} {place} {city}.
    """

    topic: str
    openers: tuple[tuple[str, str], ...]
    nudges: tuple[str, ...]
    after: tuple[tuple[str, str | None], ...]
    subjects: tuple[str, ...]


GENERIC_NUDGES = ("hello??", "anyone there?", "?", "helloooo", "any update on this?",
                  "still waiting for an answer…")
DM_ANSWERS = ("Sure, it's order {order}.", "Hi! Yes, order {order}, the {item}.",
              "thanks for reaching out 🙏 order number is {order}", "ok, what do you need from me?")
CLOSINGS = ("You're welcome! 😊", "Glad we could help, have a lovely day!", "Any time! 💚",
            "Happy to help, enjoy!")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "where is my order",
        (("my order {order} still says 'label created' after 6 days. is it actually coming?",
          "Sorry about the wait! {order} left us on Tuesday; the carrier's scan is just late. "
          "Tracking should update within 24h, and we're keeping an eye on it."),
         ("ordered the {item} last week and tracking hasn't moved since Monday 😕",
          "So sorry! It's with the courier and due {day}. If it hasn't arrived by then we'll send "
          "a new one, no questions asked."),
         ("Hi! Any idea when order {order} ships? I need it by {day}",
          "Good news: {order} ships this afternoon by express, so it'll be with you before {day}.")),
        ("still nothing…", "tracking still hasn't moved", "order is {order} btw"),
        (("ok thanks, fingers crossed", None),
         ("thank you! it just updated 🙌", None),
         ("Can you resend the tracking link? the one in the email doesn't open",
          "Sent it again just now, it's the same link as on your order page.")),
        ("Where is my order {order}?", "Order {order}", "Shipping status of {order}"),
    ),
    Scenario(
        "broken item",
        (("my {ware} arrived smashed. second time this happens. not impressed.",
          "That's awful, sorry! Could you send us a photo and your order number? We'll ship a "
          "replacement today, no need to return the broken one."),
         ("Box was crushed and the {ware} inside is cracked. What now?",
          "Really sorry about that. A replacement {ware} is on its way, and we're padding the "
          "boxes better from now on."),
         ("opened my parcel and the {ware} is in three pieces 💔",
          "Oh no, sorry! A new {ware} goes out today; keep or recycle the pieces, no return needed.")),
        ("can someone reply please", "I have photos if you need them"),
        (("sent the photo", "Got it, thank you! Replacement ships today."),
         ("ok, thank you for sorting it so fast", None),
         ("Do I need to keep the packaging?", "No need, recycle it. Sorry again!")),
        ("Damaged {ware}", "Broken item in order {order}", "Arrived broken"),
    ),
    Scenario(
        "refund",
        (("I returned the {item} two weeks ago and still no refund. How long does this take??",
          "Refunds go out within 3 business days of the return arriving. Yours was processed "
          "today; your bank may take 2 to 5 days to show it."),
         ("When will my refund for {order} come through?",
          "It went out this morning! Depending on your bank it shows in 2 to 5 days."),
         ("Refund for {order} still not in my account. This is getting ridiculous.",
          "You're right to chase, sorry. It was stuck on our side; it's released now and should "
          "land within 2 to 5 days.")),
        ("it's been another 3 days", "please just tell me when"),
        (("great, thanks", None),
         ("Will it go back to the same card?", "Yes, always to the original payment method."),
         ("ok I'll wait, but that's slow", "Understood, and sorry. We're working on faster refunds.")),
        ("Refund for order {order}", "Return received?", "Still waiting for my refund"),
    ),
    Scenario(
        "store hours",
        (("are you open on {day}?",
          "We are! {day} we're open 11 to 4. Holiday hours are on our website too."),
         ("What time does the shop close today?",
          "We're open Mon to Sat 10 to 6 and Sundays 11 to 4. See you soon!"),
         ("Is the Elm Street shop open over the holidays?",
          "Yes, every day except the 25th and the 1st, 11 to 4. Hope to see you!")),
        ("?", "anyone? thinking of coming by in an hour"),
        (("perfect, thanks!", None), ("👍", None),
         ("do you have parking nearby?", "There's a free car park behind the bakery next door.")),
        ("Opening hours", "Are you open on {day}?"),
    ),
    Scenario(
        "sizes",
        (("Does the {garment} run small? I'm usually a {size}.",
          "It runs true to size with a relaxed fit; between sizes, go down one. Exchanges are "
          "free within 30 days."),
         ("size question: between M and L for the {garment}, which would you pick?",
          "M if you like it neat, L for the relaxed look in the photos. Free exchanges either way!"),
         ("How long are the sleeves on the {garment}, size {size}?",
          "About 62 cm from the shoulder seam in {size}. The size guide has every measurement.")),
        ("sorry, one more: is it see-through at all?",),
        (("ordered the {size}, thanks!", None),
         ("thanks! do exchanges cost anything?", "Nope, exchanges are always free.")),
        ("Size question: {garment}", "Which size should I order?"),
    ),
    Scenario(
        "invoice",
        (("Could you send a VAT invoice for order {order}? Company: Lindqvist Design AB.",
          "Of course, the VAT invoice for {order} is in your account under Orders."),
         ("I need an invoice with my company address for {order}, for my accountant.",
          "Done! The invoice for {order} with your company address is under Orders in your account."),
         ("The invoice for {order} shows the wrong billing address, can you fix it?",
          "Sorry about that, the corrected invoice for {order} is in your account now.")),
        ("Following up on the invoice, our books close on Friday.",),
        (("Received, thank you!", None),
         ("The VAT number is missing: SE556677889901", "Added, the new invoice is there now.")),
        ("Invoice for order {order}", "Invoice request {order}"),
    ),
    Scenario(
        "login",
        (("can't log into my account, the reset email never arrives",
          "Sorry about that! We've sent a fresh reset link, check spam too. If it still doesn't "
          "arrive, tell us and we'll sort it."),
         ("password reset link says 'expired' the moment I click it?",
          "Reset links expire after 30 minutes, and an older email can be the culprit. We've sent a "
          "new one just now."),
         ("Your site keeps logging me out at checkout. Tried 3 times.",
          "Sorry! That's a cookie bug we fixed an hour ago; please try again, and your basket is "
          "saved.")),
        ("still can't get in", "tried again, same thing"),
        (("Got it, I'm in. Thanks!", None),
         ("still nothing in my inbox or spam :/", "Odd! We've set a temporary password, check DMs.")),
        ("Can't log in", "Password reset not working", "Account problem"),
    ),
    Scenario(
        "praise",
        (("just got my {item} and it's gorgeous. the handwritten note 🥹 thank you!",
          "This made our day, thank you! 💚 Enjoy your {item}!"),
         ("Fastest delivery ever. Ordered Monday, here Tuesday. You lot are brilliant.",
          "Thank you so much! We'll pass this on to the packing team 🥰"),
         ("Love love love the new {item}s 😍", "Thank you! More colours coming next month 👀")),
        ("(also the packaging smells like cedar??)",),
        (("❤️", None), ("will definitely order again", None)),
        ("Thank you!", "Just wanted to say thanks"),
    ),
    Scenario(
        "wrong item",
        (("ordered the {garment} in sage, got terracotta. can I swap?",
          "Sorry for the mix-up! The sage one ships today, with a free return label in the box."),
         ("Wrong size in my parcel: ordered {size}, received XS.",
          "Sorry! The {size} ships today, with a free return label for the XS in the box.")),
        ("order {order} if that helps",),
        (("Amazing, thank you", None), ("do I need to print the label?", "No, just show the QR code.")),
        ("Wrong item in order {order}", "Received the wrong {garment}"),
    ),
    Scenario(
        "discount code",
        (("the code WELCOME10 isn't working at checkout",
          "WELCOME10 works on full-price items only, sorry for the confusion! We've taken the 10% "
          "off your order by hand."),
         ("Does the 20% off apply to sale items?",
          "It doesn't, sorry: sale items are already at their lowest price. Everything else is 20% "
          "off until Sunday!")),
        ("tried on my phone too, same error",),
        (("oh nice, thanks!", None),
         ("ok but the site doesn't say that anywhere", "Fair point, we've added it to the page.")),
        ("Discount question", "Question about the sale"),
    ),
    Scenario(
        "shipping abroad",
        (("Do you ship to {place}? How much?",
          "We do! Shipping to {place} is €12, free over €80, usually 4 to 7 days."),
         ("hi, how long does delivery to {place} take?",
          "Usually 4 to 7 working days to {place}, with tracking all the way.")),
        ("also, do you charge customs up front?",),
        (("great, ordering now", None),
         ("what about customs fees?", "Outside the EU they're paid on delivery, we can't prepay them.")),
        ("Shipping to {place}", "International delivery"),
    ),
    Scenario(
        "cancel order",
        (("I just placed order {order} by mistake, can you cancel it please!!",
          "Done, {order} is cancelled and the payment released. Your bank will show it in a few days."),
         ("Please cancel {order}, I ordered the wrong colour",
          "Cancelled! Want us to place it again in the right colour? Just say which one.")),
        ("please, before it ships!!",),
        (("phew, thank you 🙏", None),),
        ("Cancel order {order}", "URGENT: cancel my order"),
    ),
    Scenario(
        "back in stock",
        (("will the {item} be back in stock?",
          "The next batch lands in about two weeks; tap 'notify me' on the product page and "
          "you'll get an email."),
         ("Any chance of the {item} in blue again?",
          "Blue is coming back in the spring batch! 'Notify me' on the product page gets you first dibs.")),
        ("asking because it's for a gift on {day}",),
        (("done, thanks!", None), ("can I pre-order instead?", "Not yet, but 'notify me' is first in line.")),
        ("Restock of {item}?", "Back in stock when?"),
    ),
    Scenario(
        "nobody answers",
        (("3 emails and no answer. worst customer service I've had. order {order}.",
          "We're really sorry, that's not OK. {order} is packed and goes out today by express at "
          "our cost. Tracking follows in a DM."),
         ("Why is it impossible to get a reply from you? Order {order}, paid 10 days ago.",
          "You're right, and we're sorry. {order} ships today by express at our cost; we'll send "
          "the tracking as soon as it's scanned.")),
        ("HELLO?", "I'll be filing a chargeback if I don't hear back today"),
        (("ok. thanks for finally answering", None), ("fine. I'll wait for the tracking", None)),
        ("No reply to my emails - order {order}", "Complaint about order {order}"),
    ),
    Scenario(
        "gift wrap",
        (("Can you gift-wrap and ship straight to my mum in {city}? It's her birthday {day}",
          "Absolutely! Add the card message at checkout and we'll wrap it, no prices inside."),
         ("do you do gift notes? want to send the {item} as a surprise",
          "We do! Write the note at checkout; it goes in by hand, and no prices in the box.")),
        ("(it's a surprise so no prices in the box please!)",),
        (("thank you so much!!", None), ("can I pay for express?", "Yes, pick express at checkout.")),
        ("Gift wrapping", "Sending a gift to {city}"),
    ),
    Scenario(
        "care and materials",
        (("is the {ware} dishwasher safe?",
          "Yes: our stoneware is lead-free, food safe and dishwasher safe. Hand-washing keeps the "
          "glaze bright longer."),
         ("How do I care for the linen? Mine came out stiff.",
          "Linen softens with every wash: 40°, no softener, line dry, and it'll be lovely.")),
        ("asking before I ruin it lol",),
        (("great to know, thanks!", None),),
        ("Care instructions", "Looking after my order"),
    ),
    Scenario(
        "charged twice",
        (("I was charged twice for order {order}!!",
          "Sorry for the scare! The second one is a pending authorisation, not a charge; it drops "
          "off within 3 to 5 days."),
         ("Two payments for one order ({order}). Please fix.",
          "Sorry! We've refunded the duplicate payment just now; it shows in 2 to 5 days.")),
        ("my bank shows both as pending still",),
        (("ok it disappeared today, thanks", None),
         ("it's been 6 days and it's still there", "We've asked the bank to release it; proof is in your DMs.")),
        ("Double charge on {order}", "Charged twice"),
    ),
)
SCENARIOS_BY_TOPIC = {s.topic: s for s in SCENARIOS}
