"""Sentence templates for decision reasons, in English and Brazilian Portuguese.

`TEMPLATES[feature][lang]` is one string, or a (zero, one, many) triple chosen by the feature's
value (or by the feature named in `COUNTED_BY`); an empty variant falls back to 'many'.
Placeholders are feature names, whose values are pre-formatted for the language (money, ratios,
percentages), plus the phrases `serasa_when`, `limit_when`, `tenure`, `previous_gap`, `state`.
"""

Template = str | tuple[str, str, str]

_REPORT = {"en": " (latest Serasa report)", "pt-BR": " (último relatório Serasa)"}
_QUERIED = {
    "en": " on the latest Serasa report, queried {serasa_when}",
    "pt-BR": " no último relatório Serasa, consultado {serasa_when}",
}


def _share(name: str, en: str, pt: str) -> dict[str, Template]:
    """A percentage field of the Serasa report: '{x}% of <en>' / '{x}% d<pt>'."""
    return {
        "en": f"{{{name}}} of {en}{_REPORT['en']}",
        "pt-BR": f"{{{name}}} d{pt}{_REPORT['pt-BR']}",
    }


def _count(
    name: str, en: tuple[str, str], pt: tuple[str, str, str], tail: dict[str, str]
) -> dict[str, Template]:
    """A count: 'No Xs' / '1 X' / 'n Xs' + tail.

    `en` is (singular, plural); `pt` is ('Nenhum' or 'Nenhuma', singular, plural).
    """
    t_en, t_pt = tail["en"], tail["pt-BR"]
    return {
        "en": (f"No {en[1]}{t_en}", f"1 {en[0]}{t_en}", f"{{{name}}} {en[1]}{t_en}"),
        "pt-BR": (f"{pt[0]} {pt[1]}{t_pt}", f"1 {pt[1]}{t_pt}", f"{{{name}}} {pt[2]}{t_pt}"),
    }


def _debt(name: str, en: tuple[str, str], pt: tuple[str, str]) -> dict[str, Template]:
    """A debt amount of the Serasa report: (sentence when zero, subject of 'total {amount}')."""
    return {
        "en": (en[0] + _REPORT["en"], "", f"{en[1]} total {{{name}}}{_REPORT['en']}"),
        "pt-BR": (pt[0] + _REPORT["pt-BR"], "", f"{pt[1]} somam {{{name}}}{_REPORT['pt-BR']}"),
    }


def _flag(en: tuple[str, str], pt: tuple[str, str]) -> dict[str, Template]:
    """A yes/no customer field: (sentence when 0, sentence when 1)."""
    return {"en": (en[0], en[1], ""), "pt-BR": (pt[0], pt[1], "")}


_ORDER: dict[str, dict[str, Template]] = {
    "amount": {"en": "Order amount is {amount}", "pt-BR": "Valor do pedido é {amount}"},
    "payment_terms_days": {
        "en": (
            "Payment due on delivery",
            "Payment terms of 1 day",
            "Payment terms of {payment_terms_days} days",
        ),
        "pt-BR": (
            "Pagamento à vista",
            "Prazo de pagamento de 1 dia",
            "Prazo de pagamento de {payment_terms_days} dias",
        ),
    },
}

_CUSTOMER: dict[str, dict[str, Template]] = {
    "simples_nacional": _flag(
        ("Customer is not in Simples Nacional", "Customer is in Simples Nacional"),
        ("Cliente não é optante do Simples Nacional", "Cliente é optante do Simples Nacional"),
    ),
    "mei": _flag(
        ("Customer is not a MEI", "Customer is a MEI (individual micro-entrepreneur)"),
        ("Cliente não é MEI", "Cliente é MEI (microempreendedor individual)"),
    ),
    "final_consumer": _flag(
        ("Customer is not a final consumer", "Customer is a final consumer"),
        ("Cliente não é consumidor final", "Cliente é consumidor final"),
    ),
    "state_code": {
        "en": "Customer is located in {state}",
        "pt-BR": "Cliente localizado em {state}",
    },
    "tenure_days": {
        "en": "Customer for {tenure} at the order date",
        "pt-BR": "Cliente há {tenure} na data do pedido",
    },
}

_LIMIT: dict[str, dict[str, Template]] = {
    "limit_amount": {
        "en": "Credit limit in force is {limit_amount}",
        "pt-BR": "Limite de crédito vigente é {limit_amount}",
    },
    "amount_to_limit": {
        "en": "Order amount is {amount_to_limit} the customer's credit limit ({limit_amount})",
        "pt-BR": "Valor do pedido é {amount_to_limit} o limite de crédito do cliente "
        "({limit_amount})",
    },
    "limit_age_days": {
        "en": "Credit limit last set {limit_when}",
        "pt-BR": "Limite de crédito definido {limit_when}",
    },
}

_SUPPLIERS_EN = "supplier relationships"
_SUPPLIERS_PT = "os relacionamentos com fornecedores"

_SERASA: dict[str, dict[str, Template]] = {
    "paid_on_time": _share("paid_on_time", "payments made on time", "os pagamentos em dia"),
    "paid_cash": _share("paid_cash", "payments made in cash", "os pagamentos à vista"),
    "paid_8_15_days_late": _share(
        "paid_8_15_days_late",
        "payments made 8-15 days late",
        "os pagamentos com 8 a 15 dias de atraso",
    ),
    "paid_16_30_days_late": _share(
        "paid_16_30_days_late",
        "payments made 16-30 days late",
        "os pagamentos com 16 a 30 dias de atraso",
    ),
    "paid_31_60_days_late": _share(
        "paid_31_60_days_late",
        "payments made 31-60 days late",
        "os pagamentos com 31 a 60 dias de atraso",
    ),
    "paid_over_60_days_late": _share(
        "paid_over_60_days_late",
        "payments made over 60 days late",
        "os pagamentos com mais de 60 dias de atraso",
    ),
    "inquiries_count": _count(
        "inquiries_count", ("inquiry", "inquiries"), ("Nenhuma", "consulta", "consultas"), _QUERIED
    ),
    "suppliers_0_6_months": _share(
        "suppliers_0_6_months",
        f"{_SUPPLIERS_EN} are 0-6 months old",
        f"{_SUPPLIERS_PT} têm 0 a 6 meses",
    ),
    "suppliers_6_12_months": _share(
        "suppliers_6_12_months",
        f"{_SUPPLIERS_EN} are 6-12 months old",
        f"{_SUPPLIERS_PT} têm 6 a 12 meses",
    ),
    "suppliers_1_3_years": _share(
        "suppliers_1_3_years",
        f"{_SUPPLIERS_EN} are 1-3 years old",
        f"{_SUPPLIERS_PT} têm 1 a 3 anos",
    ),
    "suppliers_3_5_years": _share(
        "suppliers_3_5_years",
        f"{_SUPPLIERS_EN} are 3-5 years old",
        f"{_SUPPLIERS_PT} têm 3 a 5 anos",
    ),
    "suppliers_5_10_years": _share(
        "suppliers_5_10_years",
        f"{_SUPPLIERS_EN} are 5-10 years old",
        f"{_SUPPLIERS_PT} têm 5 a 10 anos",
    ),
    "suppliers_over_10_years": _share(
        "suppliers_over_10_years",
        f"{_SUPPLIERS_EN} are over 10 years old",
        f"{_SUPPLIERS_PT} têm mais de 10 anos",
    ),
    "suppliers_inactive": _share(
        "suppliers_inactive", f"{_SUPPLIERS_EN} are inactive", f"{_SUPPLIERS_PT} estão inativos"
    ),
    "pefin_count": _count(
        "pefin_count",
        ("PEFIN record", "PEFIN records"),
        ("Nenhum", "registro de PEFIN", "registros de PEFIN"),
        _QUERIED,
    ),
    "pefin_amount": _debt(
        "pefin_amount",
        ("No PEFIN debt", "PEFIN debts"),
        ("Nenhuma dívida em PEFIN", "Dívidas em PEFIN"),
    ),
    "refin_count": _count(
        "refin_count",
        ("REFIN record", "REFIN records"),
        ("Nenhum", "registro de REFIN", "registros de REFIN"),
        _QUERIED,
    ),
    "refin_amount": _debt(
        "refin_amount",
        ("No REFIN debt", "REFIN debts"),
        ("Nenhuma dívida em REFIN", "Dívidas em REFIN"),
    ),
    "overdue_debts_count": _count(
        "overdue_debts_count",
        ("overdue debt", "overdue debts"),
        ("Nenhuma", "dívida vencida", "dívidas vencidas"),
        _QUERIED,
    ),
    "overdue_debts_amount": _debt(
        "overdue_debts_amount",
        ("No overdue debt", "Overdue debts"),
        ("Nenhuma dívida vencida", "Dívidas vencidas"),
    ),
    "bankruptcy_count": _count(
        "bankruptcy_count",
        ("bankruptcy or reorganisation filing", "bankruptcy or reorganisation filings"),
        ("Nenhum", "registro de falência ou concordata", "registros de falência ou concordata"),
        _REPORT,
    ),
    "bounced_checks_count": _count(
        "bounced_checks_count",
        ("bounced cheque", "bounced cheques"),
        ("Nenhum", "cheque sem fundos", "cheques sem fundos"),
        _REPORT,
    ),
    "recheque_count": _count(
        "recheque_count",
        ("Recheque record", "Recheque records"),
        ("Nenhum", "registro no Recheque", "registros no Recheque"),
        _REPORT,
    ),
    "bankruptcy_participation_count": _count(
        "bankruptcy_participation_count",
        ("stake in a bankrupt company", "stakes in bankrupt companies"),
        ("Nenhuma", "participação em empresa falida", "participações em empresas falidas"),
        _REPORT,
    ),
    "serasa_score": {
        "en": "Serasa score is {serasa_score} (0-1000), queried {serasa_when}",
        "pt-BR": "Score Serasa é {serasa_score} (0-1000), consultado {serasa_when}",
    },
    "serasa_age_days": {
        "en": "Latest Serasa report was queried {serasa_when}",
        "pt-BR": "Último relatório Serasa foi consultado {serasa_when}",
    },
}

_HISTORY: dict[str, dict[str, Template]] = {
    "past_orders_count": {
        "en": (
            "No earlier orders from this customer",
            "1 earlier order from this customer",
            "{past_orders_count} earlier orders from this customer",
        ),
        "pt-BR": (
            "Nenhum pedido anterior deste cliente",
            "1 pedido anterior deste cliente",
            "{past_orders_count} pedidos anteriores deste cliente",
        ),
    },
    "past_blocked_count": {
        "en": (
            "No earlier orders blocked (0 of {past_orders_count})",
            "1 of {past_orders_count} earlier orders was blocked",
            "{past_blocked_count} of {past_orders_count} earlier orders were blocked",
        ),
        "pt-BR": (
            "Nenhum pedido anterior bloqueado (0 de {past_orders_count})",
            "1 de {past_orders_count} pedidos anteriores foi bloqueado",
            "{past_blocked_count} de {past_orders_count} pedidos anteriores foram bloqueados",
        ),
    },
    "past_mean_amount": {
        "en": "Customer's earlier orders average {past_mean_amount}",
        "pt-BR": "Pedidos anteriores do cliente têm valor médio de {past_mean_amount}",
    },
    "amount_to_past_mean": {
        "en": "Order amount is {amount_to_past_mean} the customer's average order "
        "({past_mean_amount})",
        "pt-BR": "Valor do pedido é {amount_to_past_mean} o valor médio dos pedidos do cliente "
        "({past_mean_amount})",
    },
    "exposure_30d": {
        "en": (
            "No billed orders in the 30 days before this one",
            "",
            "Billed orders in the 30 days before this one total {exposure_30d}",
        ),
        "pt-BR": (
            "Nenhum pedido faturado nos 30 dias anteriores",
            "",
            "Pedidos faturados dos 30 dias anteriores somam {exposure_30d}",
        ),
    },
    "exposure_90d": {
        "en": (
            "No billed orders in the 90 days before this one",
            "",
            "Billed orders in the 90 days before this one total {exposure_90d}",
        ),
        "pt-BR": (
            "Nenhum pedido faturado nos 90 dias anteriores",
            "",
            "Pedidos faturados dos 90 dias anteriores somam {exposure_90d}",
        ),
    },
    "days_since_previous_order": {
        "en": "Previous order placed {previous_gap} before this one",
        "pt-BR": "Pedido anterior feito {previous_gap} antes deste",
    },
}

TEMPLATES: dict[str, dict[str, Template]] = {**_ORDER, **_CUSTOMER, **_LIMIT, **_SERASA, **_HISTORY}
"""Per feature and language: a sentence, or (zero, one, many) variants."""

COUNTED_BY: dict[str, str] = {"past_block_rate": "past_blocked_count"}
"""Features that read as another feature's sentence (the block rate reads as counts)."""

MISSING_TEMPLATES: dict[str, dict[str, str]] = {
    "state_code": {"en": "Customer's state (UF) is unknown", "pt-BR": "UF do cliente desconhecida"},
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
"""Sentences for a null value that is itself informative; other nulls give no reason."""

GENERIC: dict[str, str] = {"en": "{feature} is {value}", "pt-BR": "{feature} é {value}"}
"""Fallback for a feature without a template."""
