"""The words triage looks for beyond sentiment: urgent and severe terms in the languages we support, and
the small function words that tell English (which VADER's lexicon covers) from the other languages."""

from __future__ import annotations

import re

# English, German, French, Spanish, Italian, Portuguese and Dutch. A stem matches at a word's start, so
# "refund" finds "refunded" and "rembours" finds "remboursement". Words a customer uses when money or
# an order is at stake, or when they want it fast.
URGENT_STEMS = (
    # en
    "refund", "cancel", "broken", "urgent", "asap", "immediately", "still waiting", "never arrived",
    "never received", "not received", "missing", "charged twice", "double charged", "complain", "damaged",
    "wrong order", "where is my", "nobody answers", "no answer", "no reply", "unacceptable",
    # de
    "erstatt", "rückerstatt", "storn", "kündig", "dringend", "sofort", "kaputt", "beschädigt", "beschwerde",
    "nicht angekommen", "nie angekommen", "immer noch", "keine antwort", "wo bleibt", "wo ist mein",
    "unverschämt", "zurückbuchen",
    # fr
    "rembours", "annul", "urgent", "immédiatement", "cassé", "endommag", "plainte", "jamais reçu",
    "pas reçu", "toujours pas", "aucune réponse", "inadmissible", "inacceptable",
    # es
    "reembols", "devoluci", "cancelar", "urgente", "inmediat", "roto", "dañad", "queja", "reclamaci",
    "nunca lleg", "no ha llegado", "no recib", "todavía", "sin respuesta", "inaceptable",
    # it
    "rimbors", "annull", "subito", "rotto", "danneggiat", "reclamo", "mai arrivat", "non è arrivat",
    "ancora niente", "nessuna risposta", "inaccettabile",
    # pt
    "reembolso", "cancelar", "quebrad", "danificad", "reclama", "nunca cheg", "não cheg", "não receb",
    "ainda não", "sem resposta", "inaceitável",
    # nl
    "terugbetal", "annuleer", "dringend", "kapot", "beschadigd", "klacht", "nooit aangekomen",
    "niet ontvangen", "nog steeds", "geen antwoord", "onacceptabel",
)

# Words that say a conversation may escalate beyond us: money taken back, the law, the press.
SEVERE_STEMS = (
    "chargeback", "lawyer", "attorney", "sue", "suing", "lawsuit", "police", "fraud", "scam", "consumer protection",
    "anwalt", "klage", "polizei", "betrug", "verbraucherzentrale",
    "avocat", "plainte pénale", "arnaque", "escroquer", "police",
    "abogado", "denuncia", "estafa", "fraude", "policía",
    "avvocato", "denuncia", "truffa", "polizia",
    "advogado", "processo", "golpe", "polícia",
    "advocaat", "aangifte", "oplichting", "politie",
)



PREFIX = 4


def _by_first_word() -> dict[str, tuple[tuple[str, bool], ...]]:
    """Every stem with whether it is severe, keyed by its first word cut to PREFIX letters, so a
    message's words find their candidates by one lookup each instead of a scan of every stem."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for stems, severe in ((SEVERE_STEMS, True), (URGENT_STEMS, False)):
        for stem in dict.fromkeys(s.strip() for s in stems):
            entries = found.setdefault(stem.split()[0][:PREFIX], [])
            if all(stem != known for known, _ in entries):
                entries.append((stem, severe))
    return {key: tuple(values) for key, values in found.items()}


STEMS = _by_first_word()
STEM_KEYS = frozenset(STEMS)
# An order, invoice or ticket number: the customer is writing about a concrete purchase.
REFERENCE_RE = re.compile(r"#\s?\d{3}|\d{5}")
PUNCTUATION = ".,!?;:\"'()[]{}*_~…¡¿«»“”„"

ENGLISH = frozenset(
    "the and is are was were to my i i'm you your it it's not for of a on in this that have has with but no"
    " me we our us can cant can't dont don't please thanks thank still why when what where who how order"
    " any just so be been will would".split())
# Function words of the other supported languages that English text does not use.
OTHER = frozenset(
    "der die das und ist nicht ich mein meine sie wir ein eine noch bitte danke warum wann wo wie schon"
    " le la les et est pas je mon ma vous nous un une des merci pourquoi quand où comment toujours"
    " el los las y es no yo mi usted nosotros una gracias por qué cuando dónde cómo todavía pero"
    " il lo gli e è non io mio voi noi grazie perché quando dove come ancora ma"
    " o os as é não eu meu você nós um uma obrigado obrigada porque quando onde como ainda mas"
    " de het en niet ik mijn jij wij een nog bedankt waarom wanneer waar hoe maar".split()) - ENGLISH
