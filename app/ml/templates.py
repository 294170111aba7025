"""The catalogue of reason sentences: every template, in English and Brazilian Portuguese, for both
directions a value can push (towards `block` or towards `bill`).

`CATALOGUE[feature][direction][lang]` is one string, or a (zero, one, many) triple chosen by the
feature's value (or by the feature named in `COUNTED_BY`): zero when it is exactly 0, one when
exactly 1, else many; an empty variant falls back to many. Placeholders are feature names, whose
values are pre-formatted for the language (money, percentages; a ratio reads "2.1x the" / "12% of
the", so "{amount_to_limit} customer's credit limit" reads either way), plus the phrases
`serasa_when`, `limit_when`, `tenure` and `previous_gap`.

A directional feature (app/ml/monotone.py) words its two directions differently ("Only 1.2% of
payments ..." when it pushes towards bill); the others read the same either way. After the
sentence, `COMPARISONS` says where the value stands among the company's training orders
(app/ml/reference.py). `MISSING` words an unknown value that is itself a reason to block (an
unknown value is never a reason to bill). `DIRECTIONLESS` facts are never a reason on their own.

docs/reasons.md shows every entry rendered (`python -m app.ml.catalogue`); a test fails when it
is stale.
"""

from __future__ import annotations

Template = str | tuple[str, str, str]
Entry = dict[str, dict[str, Template]]
"""direction ("block" | "bill") -> language -> template."""

LANGUAGES = ("en", "pt-BR")
DIRECTIONS = ("block", "bill")

_REPORT = {"en": " (latest Serasa report)", "pt-BR": " (último relatório Serasa)"}
_QUERIED = {
    "en": " on the latest Serasa report, queried {serasa_when}",
    "pt-BR": " no último relatório Serasa, consultado {serasa_when}",
}


def _same(en: Template, pt: Template) -> Entry:
    """A feature without an agreed direction: the same words either way (the comparison tells)."""
    return {direction: {"en": en, "pt-BR": pt} for direction in DIRECTIONS}


def _two(block: tuple[Template, Template], bill: tuple[Template, Template]) -> Entry:
    """(en, pt-BR) when it pushes towards block, and when it pushes towards bill."""
    return {"block": {"en": block[0], "pt-BR": block[1]}, "bill": {"en": bill[0], "pt-BR": bill[1]}}


def _late(name: str, en: str, pt: str) -> Entry:
    """A late-payment share of the Serasa report (up): '{x} of payments made <en> late'."""
    zero = (f"No payments made {en} late{_REPORT['en']}", f"Nenhum pagamento com {pt} de atraso{_REPORT['pt-BR']}")
    block = (f"{{{name}}} of payments made {en} late{_REPORT['en']}",
             f"{{{name}}} dos pagamentos com {pt} de atraso{_REPORT['pt-BR']}")
    bill = (f"Only {{{name}}} of payments made {en} late{_REPORT['en']}",
            f"Apenas {{{name}}} dos pagamentos com {pt} de atraso{_REPORT['pt-BR']}")
    return _two(((zero[0], "", block[0]), (zero[1], "", block[1])), ((zero[0], "", bill[0]), (zero[1], "", bill[1])))


def _share(name: str, en: str, pt: str) -> Entry:
    """A share of the Serasa report without an agreed direction: '{x} of <en>' / '{x} d<pt>'."""
    return _same(f"{{{name}}} of {en}{_REPORT['en']}", f"{{{name}}} d{pt}{_REPORT['pt-BR']}")


def _count(name: str, en: tuple[str, str], pt: tuple[str, str, str], tail: dict[str, str], *,
           directional: bool) -> Entry:
    """A count: 'No Xs' / '1 X' / 'n Xs' + tail; towards bill 'Only 1 X' / 'Only n Xs' when it is
    a directional (risk) count. `en` is (singular, plural); `pt` is ('Nenhum'|'Nenhuma', singular,
    plural)."""
    t_en, t_pt = tail["en"], tail["pt-BR"]
    zero_en, zero_pt = f"No {en[1]}{t_en}", f"{pt[0]} {pt[1]}{t_pt}"
    block = ((zero_en, f"1 {en[0]}{t_en}", f"{{{name}}} {en[1]}{t_en}"),
             (zero_pt, f"1 {pt[1]}{t_pt}", f"{{{name}}} {pt[2]}{t_pt}"))
    if not directional:
        return _same(*block)
    bill = ((zero_en, f"Only 1 {en[0]}{t_en}", f"Only {{{name}}} {en[1]}{t_en}"),
            (zero_pt, f"Apenas 1 {pt[1]}{t_pt}", f"Apenas {{{name}}} {pt[2]}{t_pt}"))
    return _two(block, bill)


def _debt(name: str, en: tuple[str, str], pt: tuple[str, str]) -> Entry:
    """A debt amount of the Serasa report (up): (sentence when zero, subject of 'total {amount}')."""
    zero_en, zero_pt = en[0] + _REPORT["en"], pt[0] + _REPORT["pt-BR"]
    return _two(
        ((zero_en, "", f"{en[1]} total {{{name}}}{_REPORT['en']}"),
         (zero_pt, "", f"{pt[1]} somam {{{name}}}{_REPORT['pt-BR']}")),
        ((zero_en, "", f"{en[1]} total only {{{name}}}{_REPORT['en']}"),
         (zero_pt, "", f"{pt[1]} somam apenas {{{name}}}{_REPORT['pt-BR']}")),
    )


def _exposure(name: str, days: int) -> Entry:
    zero_en = f"No billed orders in the {days} days before this one"
    zero_pt = f"Nenhum pedido faturado nos {days} dias anteriores"
    many_en = f"Billed orders in the {days} days before this one total"
    many_pt = f"Pedidos faturados nos {days} dias anteriores somam"
    return _two(
        ((zero_en, "", f"{many_en} {{{name}}}"), (zero_pt, "", f"{many_pt} {{{name}}}")),
        ((zero_en, "", f"{many_en} only {{{name}}}"), (zero_pt, "", f"{many_pt} apenas {{{name}}}")),
    )


_ORDER: dict[str, Entry] = {
    "amount": _two(
        ("Order amount is {amount}", "Valor do pedido é {amount}"),
        ("Order amount is only {amount}", "Valor do pedido é de apenas {amount}"),
    ),
    "payment_terms_days": _same(
        ("Payment due on delivery", "Payment terms of 1 day", "Payment terms of {payment_terms_days} days"),
        ("Pagamento à vista", "Prazo de pagamento de 1 dia", "Prazo de pagamento de {payment_terms_days} dias"),
    ),
}

_CUSTOMER: dict[str, Entry] = {
    "tenure_days": _two(
        ("Customer for only {tenure} at the order date", "Cliente há apenas {tenure} na data do pedido"),
        ("Customer for {tenure} at the order date", "Cliente há {tenure} na data do pedido"),
    ),
}

_LIMIT: dict[str, Entry] = {
    "limit_amount": _two(
        (("Credit limit is zero for an order of {amount}", "",
          "Credit limit of only {limit_amount} for an order of {amount}"),
         ("Limite de crédito zerado para um pedido de {amount}", "",
          "Limite de crédito de apenas {limit_amount} para um pedido de {amount}")),
        (("Credit limit is zero for an order of {amount}", "",
          "Credit limit of {limit_amount} for an order of {amount}"),
         ("Limite de crédito zerado para um pedido de {amount}", "",
          "Limite de crédito de {limit_amount} para um pedido de {amount}")),
    ),
    "amount_to_limit": _two(
        ("Order is {amount_to_limit} customer's credit limit ({limit_amount})",
         "Pedido é {amount_to_limit} limite de crédito do cliente ({limit_amount})"),
        ("Order is only {amount_to_limit} customer's credit limit ({limit_amount})",
         "Pedido é apenas {amount_to_limit} limite de crédito do cliente ({limit_amount})"),
    ),
    "limit_age_days": _same("Credit limit last set {limit_when}", "Limite de crédito definido {limit_when}"),
}

_SUPPLIERS_EN = "supplier relationships"
_SUPPLIERS_PT = "os relacionamentos com fornecedores"

_SERASA: dict[str, Entry] = {
    "paid_on_time": _share("paid_on_time", "payments made on time", "os pagamentos em dia"),
    "paid_cash": _share("paid_cash", "payments made in cash", "os pagamentos à vista"),
    "paid_8_15_days_late": _late("paid_8_15_days_late", "8-15 days", "8 a 15 dias"),
    "paid_16_30_days_late": _late("paid_16_30_days_late", "16-30 days", "16 a 30 dias"),
    "paid_31_60_days_late": _late("paid_31_60_days_late", "31-60 days", "31 a 60 dias"),
    "paid_over_60_days_late": _late("paid_over_60_days_late", "over 60 days", "mais de 60 dias"),
    "inquiries_count": _count("inquiries_count", ("inquiry", "inquiries"), ("Nenhuma", "consulta", "consultas"),
                              _QUERIED, directional=False),
    "suppliers_0_6_months": _share("suppliers_0_6_months", f"{_SUPPLIERS_EN} are 0-6 months old",
                                   f"{_SUPPLIERS_PT} têm 0 a 6 meses"),
    "suppliers_6_12_months": _share("suppliers_6_12_months", f"{_SUPPLIERS_EN} are 6-12 months old",
                                    f"{_SUPPLIERS_PT} têm 6 a 12 meses"),
    "suppliers_1_3_years": _share("suppliers_1_3_years", f"{_SUPPLIERS_EN} are 1-3 years old",
                                  f"{_SUPPLIERS_PT} têm 1 a 3 anos"),
    "suppliers_3_5_years": _share("suppliers_3_5_years", f"{_SUPPLIERS_EN} are 3-5 years old",
                                  f"{_SUPPLIERS_PT} têm 3 a 5 anos"),
    "suppliers_5_10_years": _share("suppliers_5_10_years", f"{_SUPPLIERS_EN} are 5-10 years old",
                                   f"{_SUPPLIERS_PT} têm 5 a 10 anos"),
    "suppliers_over_10_years": _share("suppliers_over_10_years", f"{_SUPPLIERS_EN} are over 10 years old",
                                      f"{_SUPPLIERS_PT} têm mais de 10 anos"),
    "suppliers_inactive": _share("suppliers_inactive", f"{_SUPPLIERS_EN} are inactive",
                                 f"{_SUPPLIERS_PT} estão inativos"),
    "pefin_count": _count("pefin_count", ("PEFIN record", "PEFIN records"),
                          ("Nenhum", "registro de PEFIN", "registros de PEFIN"), _QUERIED, directional=True),
    "pefin_amount": _debt("pefin_amount", ("No PEFIN debt", "PEFIN debts"),
                          ("Nenhuma dívida em PEFIN", "Dívidas em PEFIN")),
    "refin_count": _count("refin_count", ("REFIN record", "REFIN records"),
                          ("Nenhum", "registro de REFIN", "registros de REFIN"), _QUERIED, directional=True),
    "refin_amount": _debt("refin_amount", ("No REFIN debt", "REFIN debts"),
                          ("Nenhuma dívida em REFIN", "Dívidas em REFIN")),
    "overdue_debts_count": _count("overdue_debts_count", ("overdue debt", "overdue debts"),
                                  ("Nenhuma", "dívida vencida", "dívidas vencidas"), _QUERIED, directional=True),
    "overdue_debts_amount": _debt("overdue_debts_amount", ("No overdue debt", "Overdue debts"),
                                  ("Nenhuma dívida vencida", "Dívidas vencidas")),
    "bankruptcy_count": _count(
        "bankruptcy_count", ("bankruptcy or reorganisation filing", "bankruptcy or reorganisation filings"),
        ("Nenhum", "registro de falência ou concordata", "registros de falência ou concordata"), _REPORT,
        directional=True),
    "bounced_checks_count": _count("bounced_checks_count", ("bounced cheque", "bounced cheques"),
                                   ("Nenhum", "cheque sem fundos", "cheques sem fundos"), _REPORT, directional=True),
    "recheque_count": _count("recheque_count", ("Recheque record", "Recheque records"),
                             ("Nenhum", "registro no Recheque", "registros no Recheque"), _REPORT, directional=True),
    "bankruptcy_participation_count": _count(
        "bankruptcy_participation_count", ("stake in a bankrupt company", "stakes in bankrupt companies"),
        ("Nenhuma", "participação em empresa falida", "participações em empresas falidas"), _REPORT,
        directional=True),
    "serasa_score": _two(
        ("Serasa score is only {serasa_score} (0-1000), queried {serasa_when}",
         "Score Serasa é de apenas {serasa_score} (0-1000), consultado {serasa_when}"),
        ("Serasa score is {serasa_score} (0-1000), queried {serasa_when}",
         "Score Serasa é {serasa_score} (0-1000), consultado {serasa_when}"),
    ),
    "serasa_age_days": _same("Latest Serasa report was queried {serasa_when}",
                             "Último relatório Serasa foi consultado {serasa_when}"),
}

# the block rate reads as counts (COUNTED_BY), so both read the same
_BLOCKED = _two(
    (("No earlier orders blocked (0 of {past_orders_count})", "1 of {past_orders_count} earlier orders was blocked",
      "{past_blocked_count} of {past_orders_count} earlier orders were blocked"),
     ("Nenhum pedido anterior bloqueado (0 de {past_orders_count})",
      "1 de {past_orders_count} pedidos anteriores foi bloqueado",
      "{past_blocked_count} de {past_orders_count} pedidos anteriores foram bloqueados")),
    (("No earlier orders blocked (0 of {past_orders_count})",
      "Only 1 of {past_orders_count} earlier orders was blocked",
      "Only {past_blocked_count} of {past_orders_count} earlier orders were blocked"),
     ("Nenhum pedido anterior bloqueado (0 de {past_orders_count})",
      "Apenas 1 de {past_orders_count} pedidos anteriores foi bloqueado",
      "Apenas {past_blocked_count} de {past_orders_count} pedidos anteriores foram bloqueados")),
)

_HISTORY: dict[str, Entry] = {
    "past_orders_count": _same(
        ("No earlier orders from this customer", "1 earlier order from this customer",
         "{past_orders_count} earlier orders from this customer"),
        ("Nenhum pedido anterior deste cliente", "1 pedido anterior deste cliente",
         "{past_orders_count} pedidos anteriores deste cliente"),
    ),
    "past_blocked_count": _BLOCKED,
    "past_block_rate": _BLOCKED,
    "past_mean_amount": _same("Customer's earlier orders average {past_mean_amount}",
                              "Pedidos anteriores do cliente têm valor médio de {past_mean_amount}"),
    "amount_to_past_mean": _two(
        ("Order is {amount_to_past_mean} customer's average order ({past_mean_amount})",
         "Pedido é {amount_to_past_mean} valor médio dos pedidos do cliente ({past_mean_amount})"),
        ("Order is only {amount_to_past_mean} customer's average order ({past_mean_amount})",
         "Pedido é apenas {amount_to_past_mean} valor médio dos pedidos do cliente ({past_mean_amount})"),
    ),
    "exposure_30d": _exposure("exposure_30d", 30),
    "exposure_90d": _exposure("exposure_90d", 90),
    "days_since_previous_order": _same("Previous order placed {previous_gap} before this one",
                                       "Pedido anterior feito {previous_gap} antes deste"),
}

CATALOGUE: dict[str, Entry] = {**_ORDER, **_CUSTOMER, **_LIMIT, **_SERASA, **_HISTORY}
"""Per feature, direction and language: a sentence, or (zero, one, many) variants."""

DIRECTIONLESS: frozenset[str] = frozenset({"state_code", "simples_nacional", "mei", "final_consumer"})
"""Facts with no direction of their own (a state, a tax regime): never a reason on their own."""

COUNTED_BY: dict[str, str] = {"past_block_rate": "past_blocked_count"}
"""Features whose variant is chosen by another feature's value (the block rate reads as counts)."""

RATIO_PHRASES: dict[str, tuple[str, str]] = {
    "en": ("{x}x the", "{p} of the"),
    "pt-BR": ("{x}x o", "{p} do"),
}
"""A ratio before a (masculine) noun: 1 or more as a multiple, below 1 as a percentage."""

COMPARISONS: dict[str, dict[str, str]] = {
    "en": {
        "higher": "higher than in {p} of this company's orders",
        "lower": "lower than in {p} of this company's orders",
        "highest": "higher than in any of this company's orders",
        "lowest": "lower than in any of this company's orders",
        "same": "as in {p} of this company's orders",
        "missing": "as for {p} of this company's orders",
        "never_missing": "never the case in this company's orders",
    },
    "pt-BR": {
        "higher": "maior que em {p} dos pedidos desta empresa",
        "lower": "menor que em {p} dos pedidos desta empresa",
        "highest": "maior que em todos os pedidos desta empresa",
        "lowest": "menor que em todos os pedidos desta empresa",
        "same": "como em {p} dos pedidos desta empresa",
        "missing": "como em {p} dos pedidos desta empresa",
        "never_missing": "o que nunca ocorreu nos pedidos desta empresa",
    },
}
"""Where a value stands among the company's training orders (app/ml/reference.py), appended to the
sentence after " - ". `{p}` is a whole percentage, a lower bound of the true share."""

SEPARATOR = " - "

MISSING: dict[str, dict[str, str]] = {
    "tenure_days": {
        "en": "Customer is not registered or has no registration date",
        "pt-BR": "Cliente sem cadastro ou sem data de cadastro",
    },
    "limit_amount": {
        "en": "No credit limit in force on the order date",
        "pt-BR": "Nenhum limite de crédito vigente na data do pedido",
    },
    "amount_to_limit": {
        "en": "No positive credit limit in force on the order date",
        "pt-BR": "Nenhum limite de crédito positivo vigente na data do pedido",
    },
    "serasa_age_days": {
        "en": "No Serasa report queried on or before the order date",
        "pt-BR": "Nenhum relatório Serasa consultado até a data do pedido",
    },
    "serasa_score": {
        "en": "Latest Serasa report has no score",
        "pt-BR": "Último relatório Serasa não traz score",
    },
    "past_orders_count": {
        "en": "No earlier orders from this customer",
        "pt-BR": "Nenhum pedido anterior deste cliente",
    },
    "past_block_rate": {
        "en": "No earlier order of this customer has a known outcome",
        "pt-BR": "Nenhum pedido anterior deste cliente tem resultado conhecido",
    },
}
"""Sentences for an unknown value that is itself a reason to block; other unknowns give none."""

GENERIC: dict[str, str] = {"en": "{feature} is {value}", "pt-BR": "{feature} é {value}"}
"""Fallback for a feature the catalogue does not know yet (CONTRIBUTING: add its entry)."""
