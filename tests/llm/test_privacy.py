"""`Masker`: personal data replaced by typed numbered placeholders, consistently, and restored in a
reply (never card numbers or IBANs); near misses that are facts (amounts, dates) left alone."""

from __future__ import annotations

import pytest

from supportcue.llm.privacy import Masker

TEXT = (
    "I'm Ana Silva (ana.silva@example.com, +44 20 7946 0958). Card 4111 1111 1111 1111, "
    "IBAN DE89 3704 0044 0532 0130 00, order A-10293, ticket #55421, ref ord_8842XK, invoice 884213."
)


def test_every_kind_is_replaced_by_a_typed_placeholder() -> None:
    masker = Masker("Ana Silva", ["A-10293"])
    masked = masker.mask(TEXT)
    assert masked == (
        "I'm [NAME_1] ([EMAIL_1], [PHONE_1]). Card [CARD_1], IBAN [IBAN_1], order [ORDER_1], "
        "ticket [ORDER_2], ref [ORDER_3], invoice [ORDER_4]."
    )
    assert masker.mapping["[CARD_1]"] == "4111 1111 1111 1111"


@pytest.mark.parametrize(
    "kept",
    [
        "a refund of $1,250.00 or €99.99",
        "since 2026-10-12, within 5-10 business days, a 2.9% fee",
        "the Growth plan, 3 team members, version 2.4",
        "card 4111 1111 1111 1112",  # fails Luhn
        "call you will",
    ],
)
def test_facts_and_near_misses_are_left_alone(kept: str) -> None:
    assert Masker("Will").mask(kept) == kept


def test_the_same_value_gets_the_same_placeholder_across_texts() -> None:
    masker = Masker("Ana Silva")
    first = masker.mask("Ana wrote from ana@x.io")
    second = masker.mask("Reply to ana@x.io, Ana.")
    assert first == "[NAME_1] wrote from [EMAIL_1]" and second == "Reply to [EMAIL_1], [NAME_1]."


def test_name_parts_are_masked_as_written_title_cased_or_in_capitals() -> None:
    masker = Masker("will smith")
    assert masker.mask("Will Smith says WILL") == "[NAME_1] says [NAME_2]"
    assert Masker("Will Jones").mask("you will get it, Will") == "you will get it, [NAME_1]"


def test_unmask_restores_but_withholds_cards_and_reports_unknown_placeholders() -> None:
    masker = Masker("Ana Silva", ["A-10293"])
    masker.mask(TEXT)
    back = masker.unmask("Hi [NAME_1], order [ORDER_1]; card [CARD_1]; IBAN [IBAN_1]; see [EMAIL_7].")
    assert back.text == "Hi Ana Silva, order A-10293; card [CARD_1]; IBAN [IBAN_1]; see [EMAIL_7]."
    assert back.withheld == ("[CARD_1]", "[IBAN_1]") and back.unknown == ("[EMAIL_7]",)


def test_a_name_placeholder_stands_for_the_customer_when_no_text_named_anyone() -> None:
    """The case names its customer but no text the LLM saw does, so the masker made no [NAME_1]; a
    draft greeting "Hi [NAME_1]," (the prompt says placeholders stand for the customer's data) was
    refused whole as a placeholder that stands for nothing."""
    masker = Masker("Ana Silva")
    masker.mask("How do I pause payouts?")
    back = masker.unmask("Hi [NAME_1], you can pause them in Settings. [NAME_2]")
    assert back.text == "Hi Ana Silva, you can pause them in Settings. [NAME_2]"
    assert back.unknown == ("[NAME_2]",)
    nobody = Masker(None)
    nobody.mask("How do I pause payouts?")
    assert nobody.unmask("Hi [NAME_1],").unknown == ("[NAME_1]",)
    named = Masker("Ana Silva")
    named.mask("This is Ana Silva")  # [NAME_1] made: any other name placeholder stands for nothing
    assert named.unmask("Hi [NAME_1] and [NAME_2]").unknown == ("[NAME_2]",)


def test_off_passes_everything_through() -> None:
    masker = Masker("Ana Silva", enabled=False)
    assert masker.mask(TEXT) == TEXT and masker.unmask("[NAME_1]").text == "[NAME_1]"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("refund to iban de89370400440532013000 please", "IBAN", "de89370400440532013000"),
        ("IBAN: fr14 2004 1010 0505 0001 3m02 606", "IBAN", "fr14 2004 1010 0505 0001 3m02 606"),
        ("écrivez à jean.dupont@exämple.fr merci", "EMAIL", "jean.dupont@exämple.fr"),
        ("почта: иван.петров@почта.рф", "EMAIL", "иван.петров@почта.рф"),
        ("call me at 555 123 4567 tonight", "PHONE", "555 123 4567"),
        ("write to ana(at)example(dot)com", "EMAIL", "ana(at)example(dot)com"),
        (
            "ana.silva [at] example [dot] co [dot] uk please",
            "EMAIL",
            "ana.silva [at] example [dot] co [dot] uk",
        ),
        ("write to jane dot doe at gmail dot com please", "EMAIL", "jane dot doe at gmail dot com"),
        ("jane(at)example(dot)com", "EMAIL", "jane(at)example(dot)com"),
        ("jane [at] example [dot] com", "EMAIL", "jane [at] example [dot] com"),
        ("it's JANE.DOE AT GMAIL.COM", "EMAIL", "JANE.DOE AT GMAIL.COM"),
        ("mi móvil es 612 345 678", "PHONE", "612 345 678"),
        ("telemóvel 912 345 678, obrigado", "PHONE", "912 345 678"),
        ("call 1-800-555-0199 back", "PHONE", "1-800-555-0199"),
    ],
)
def test_values_written_in_lower_case_other_scripts_or_with_spaces_are_masked(
    text: str, kind: str, value: str
) -> None:
    masker = Masker()
    masked = masker.mask(text)
    assert value not in masked
    assert masker.mapping[f"[{kind}_1]"] == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Order 88213 hasn't arrived", "88213"),
        ("my order no. 4471 is late", "4471"),
        ("Ma commande n° 88213 n'est pas arrivée", "88213"),
        ("Mi pedido 12345 no ha llegado", "12345"),
        ("Meine Bestellnummer: 55120, bitte prüfen", "55120"),
        ("invoice #: 20931 was charged twice", "20931"),
    ],
)
def test_a_short_order_number_named_as_one_is_masked(text: str, value: str) -> None:
    masker = Masker()
    masked = masker.mask(text)
    assert value not in masked and masker.mapping["[ORDER_1]"] == value


@pytest.mark.parametrize(
    "kept", ["an order of 3 items", "orders over 5000 ship free", "the 2026 invoice", "ticket 12"]
)
def test_numbers_near_order_words_that_are_not_ids_are_left_alone(kept: str) -> None:
    assert Masker().mask(kept) == kept


def test_a_name_given_in_a_text_is_masked_there_and_in_the_texts_after() -> None:
    masker = Masker(seen=["Hello, it's me again.\nThanks,\nKarim Haddad"])
    assert masker.mask("Karim wrote before") == "[NAME_1] wrote before"
    assert Masker().mask("Mi chiamo Giulia Rossi. Giulia") == "Mi chiamo [NAME_1]. [NAME_2]"
    kept = ["I'm Happy to help", "Best regards,\nThe Tillwick Team", "Thanks, Growth plan works"]
    assert [Masker().mask(t) for t in kept] == kept


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Please ship to 221B Baker Street, London NW1 6XE.", ["221B Baker Street", "NW1 6XE"]),
        ("Send it to 1600 Amphitheatre Parkway, Mountain View, CA 94043", ["1600 Amphitheatre", "94043"]),
        ("Adresse: Hauptstraße 12, 10115 Berlin, bitte", ["Hauptstraße 12", "10115 Berlin"]),
        ("vivo en Calle Mayor 5, 28013 Madrid", ["Calle Mayor 5", "28013"]),
        ("j'habite au 12 rue de la Paix, 75002 Paris", ["12 rue de la Paix", "75002"]),
    ],
)
def test_postal_addresses_are_masked(text: str, gone: list[str]) -> None:
    masker = Masker()
    masked = masker.mask(text)
    assert not [g for g in gone if g in masked], masked
    assert "[ADDRESS_1]" in masked
    assert masker.unmask(masked).text == text


@pytest.mark.parametrize(
    "kept",
    [
        "Refunds take 5 to 10 business days on the Growth plan",
        "go to Settings → Payouts and choose Manual",
        "orders over 5000 ship free; 3 items max",
        "version 2.4 of the app, released 2026-10-12",
    ],
)
def test_texts_without_an_address_keep_their_words(kept: str) -> None:
    assert Masker().mask(kept) == kept


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("my SSN is 123-45-6789, please update", "123-45-6789"),
        ("mi DNI es 12345678Z", "12345678Z"),
        ("NIE X1234567L para la factura", "X1234567L"),
        ("National Insurance number AB 12 34 56 C", "AB 12 34 56 C"),
    ],
)
def test_national_id_numbers_are_masked_and_never_restored(text: str, value: str) -> None:
    masker = Masker()
    masked = masker.mask(text)
    assert value not in masked and masker.mapping["[ID_1]"] == value
    back = masker.unmask("We have [ID_1] on file.")
    assert back.text == "We have [ID_1] on file." and back.withheld == ("[ID_1]",)


def test_a_name_written_without_its_accents_is_masked_too() -> None:
    masker = Masker("José Álvarez")
    assert masker.mask("Hola, soy Jose Alvarez. ALVAREZ") == "Hola, soy [NAME_1]. [NAME_2]"
    assert masker.unmask("Hola [NAME_1]").text == "Hola Jose Alvarez"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("order #ORD-88213 is late", "ORD-88213"),
        ("my order #A10293 never came", "A10293"),
        ("ticket #AB12345, please", "AB12345"),
        ("ref #ord_8842XK", "ord_8842XK"),
        ("tracking 1Z999AA10123456784 is stuck", "1Z999AA10123456784"),
        ("order 2026ABC12345 please", "2026ABC12345"),
    ],
)
def test_an_order_like_id_after_a_hash_or_starting_with_its_digits_is_masked(text: str, value: str) -> None:
    """ "#A10293" is the id "A10293" (masked alone) written as shops and help desks number orders."""
    masker = Masker()
    masked = masker.mask(text)
    assert value not in masked and "[ORDER_1]" in masked, masked
    assert masker.unmask(masked).text == text


@pytest.mark.parametrize(
    "kept",
    [
        "use code #SAVE10",
        "see step #2",
        "https://x.example/docs#step-12",
        "2FA, 4K, 1080P, a 3D model and the 10GB plan",
        "error 0x80070005",
    ],
)
def test_a_hash_before_a_short_code_or_in_a_link_is_left_alone(kept: str) -> None:
    assert Masker().mask(kept) == kept


def test_a_name_typed_with_a_curly_apostrophe_or_by_one_part_of_a_double_name_is_masked() -> None:
    """Phones type "O’Neil" for the case's "O'Neil" (smart punctuation), and a customer called
    Mary-Jane signs "Mary": both went to the LLM as written."""
    masker = Masker("Mary-Jane O'Neil")
    masked = masker.mask("Hi, this is Mary-Jane O’Neil. O'NEIL on the card.\nThanks,\nMary")
    assert "O’Neil" not in masked and "NEIL" not in masked and "Mary" not in masked, masked
    assert masker.unmask(masked).text == "Hi, this is Mary-Jane O’Neil. O'NEIL on the card.\nThanks,\nMary"
    assert Masker("Jean-Luc Picard").mask("merci, Jean") == "merci, [NAME_1]"
