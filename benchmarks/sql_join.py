"""The naive baseline issue 13 measures the platform against: a plain SQL join of the spec's
hard rules 1–9 over the stored document, every need against every product, writing the
eligible pairs into a table. No index tricks, no pruning, no scores or reasons: what one would
write first. `bench_import.py` times it in the same run as the import and `match --all`.

Simplifications (it is a time baseline, not the matcher): the size rule is the industrial
one of 工信部联企业〔2011〕300号 for every enterprise, core enterprises compare by exact name.
"""
from sqlalchemy import text

SIZE = """COALESCE(e.declared_size, CASE
  WHEN e.employees >= 1000 AND e.revenue_wan >= 40000 THEN 'large'
  WHEN e.employees >= 300 AND e.revenue_wan >= 2000 THEN 'medium'
  WHEN e.employees >= 20 AND e.revenue_wan >= 300 THEN 'small' ELSE 'micro' END)"""


def _months(dialect: str) -> str:
    """Whole months from the enterprise's founding to the need's date."""
    if dialect == "postgresql":
        return ("(EXTRACT(YEAR FROM age(n.created, e.founded)) * 12"
                " + EXTRACT(MONTH FROM age(n.created, e.founded)))")
    return ("((CAST(strftime('%Y', n.created) AS INTEGER) - CAST(strftime('%Y', e.founded) AS INTEGER)) * 12"
            " + CAST(strftime('%m', n.created) AS INTEGER) - CAST(strftime('%m', e.founded) AS INTEGER)"
            " - (CAST(strftime('%d', n.created) AS INTEGER) < CAST(strftime('%d', e.founded) AS INTEGER)))")


def _term(field: str, condition: str) -> str:
    return (f"EXISTS (SELECT 1 FROM product_terms t WHERE t.product_id = p.id "
            f"AND t.field = '{field}' AND {condition})")


def _unset(field: str) -> str:
    return f"NOT {_term(field, '1 = 1')}"


def query(dialect: str) -> str:
    rules = [
        "p.status = 'published'",                                            # 1
        _term("purposes", "t.value = n.purpose"),                            # 2
        "n.amount_wan BETWEEN p.amount_min_wan AND p.amount_max_wan",        # 3
        "n.term_months BETWEEN p.term_min_months AND p.term_max_months",     # 4
        _term("guarantee_modes", ("t.value IN (SELECT g.value FROM need_guarantee_modes g "
                                  "WHERE g.need_id = n.id)")),                # 5
        (f"({_term('districts', 't.value = e.district')} OR ({_unset('districts')} AND ("
         "NOT EXISTS (SELECT 1 FROM institution_districts d WHERE d.institution_id = "
         "p.institution_id) OR EXISTS (SELECT 1 FROM institution_districts d WHERE "
         "d.institution_id = p.institution_id AND d.value = e.district))))"),  # 6
        f"({_unset('sizes')} OR {_term('sizes', f't.value = {SIZE}')})",     # 7 …
        f"({_unset('tags_any')} OR {_term('tags_any', 't.value IN (SELECT et.value FROM enterprise_tags et WHERE et.enterprise_id = e.id)')})",
        f"({_unset('industries')} OR {_term('industries', 'e.industry LIKE t.value || ' + chr(39) + '%' + chr(39))})",
        f"(p.min_years IS NULL OR {_months(dialect)} >= p.min_years * 12)",
        "(p.min_revenue_wan IS NULL OR e.revenue_wan >= p.min_revenue_wan)",
        f"({_unset('tax_credit_grades')} OR {_term('tax_credit_grades', 't.value = e.tax_credit_grade')})",
        f"({_unset('loan_kinds')} OR {_term('loan_kinds', 't.value = n.loan_kind')})",
        f"({_unset('core_enterprises')} OR {_term('core_enterprises', 't.value = e.core_enterprise')})",
        "(n.max_rate IS NULL OR p.rate_min <= n.max_rate)",                 # 8
        "(NOT p.existing_customers_only OR n.current_lender_id = p.institution_id)",  # 9
    ]
    return ("INSERT INTO naive_matches (need_id, product_id) SELECT n.id, p.id FROM needs n "
            "JOIN enterprises e ON e.id = n.enterprise_id CROSS JOIN products p WHERE "
            + " AND ".join(rules))


def run(connection) -> int:
    """Write every eligible pair into naive_matches; returns how many."""
    dialect = connection.dialect.name
    connection.execute(text("DROP TABLE IF EXISTS naive_matches"))
    connection.execute(text("CREATE TABLE naive_matches (need_id INTEGER, product_id INTEGER)"))
    connection.execute(text(query(dialect)))
    return connection.execute(text("SELECT count(*) FROM naive_matches")).scalar()
