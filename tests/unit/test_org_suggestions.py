"""Scoring which CRM Account a portal organization is (the matching wizard's suggestions)."""
from __future__ import annotations

from portal.services.crm import org_suggestions as s


def test_names_are_normalised_without_legal_forms_punctuation_accents_and_case():
    assert s.normalise("ACME Corporation, Ltd.") == s.normalise("Acme Corp") == s.normalise("acme inc") == "acme"
    assert s.normalise("Müller & Söhne GmbH") == "muller sohne"
    assert s.normalise("The Company Ltd") == "the company ltd"  # nothing but legal words: kept as it is
    assert s.normalise(None) == ""


def test_each_kind_of_evidence_adds_its_points_and_says_why():
    org = s.Organization(1, "Acme Corp", "acme.example", ("acme.example", "acme-mail.example"))
    same = s.score(org, s.Account("A", "Acme Corp", "acme.example", ("acme.example",)))
    assert (same.score, same.reason) == (100, "Same name; same website domain (acme.example)")
    fuzzy = s.score(org, s.Account("B", "ACME Corporation Ltd", None, ("acme-mail.example",)))
    assert fuzzy.score == 75
    assert fuzzy.reason == ("Same name once legal forms, punctuation and case are ignored (“acme”); "
                            "its users’ email domain acme-mail.example is the Account’s")
    similar = s.score(s.Organization(2, "Northwind Consulting"), s.Account("C", "Northwinds Consulting"))
    assert similar.reasons[0].startswith("similar name (") and 35 <= similar.score < 50
    assert s.score(s.Organization(3, "Globex"), s.Account("D", "Initech")).score == 0


def test_the_index_suggests_the_best_account_above_the_threshold_only():
    index = s.Index([s.Account("1", "Acme Holdings", "holdings.example", ("holdings.example",)),
                     s.Account("2", "ACME Corporation Ltd", "acme.example", ("acme.example",)),
                     s.Account("3", "Zenith", "zenith.example", ("zenith.example",))])
    best = index.suggest(s.Organization(1, "Acme Corp", "acme.example"))
    assert (best.crm_id, best.score) == ("2", 90)
    assert index.suggest(s.Organization(2, "Cobalt Systems", "cobalt.example")) is None
    # A domain alone is enough to suggest (40 points); a similar name is, with fewer points; a word in common is not.
    assert index.suggest(s.Organization(3, "Something Else", "zenith.example")).crm_id == "3"
    assert index.suggest(s.Organization(4, "Acme Holdings Group")).score == 37   # 81 % alike
    assert index.suggest(s.Organization(5, "Acme Logistics")) is None             # 59 % alike
