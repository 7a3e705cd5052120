"""The QBO query language over real sockets: operators, escaping, paging, ordering, count(*),
and the parser's refusals (reference/qbo-api.md §3)."""

from __future__ import annotations

import pytest

from tests.sandbox.qbo_helpers import fault_of, qbo, qbo_server  # noqa: F401 - fixtures


def names(rows: list[dict], field: str = "DisplayName") -> list[str]:
    return [r[field] for r in rows]


def test_select_shape_and_default_active_only(qbo):
    r = qbo.query("SELECT * FROM Vendor")
    assert r.status_code == 200
    body = r.json()
    resp = body["QueryResponse"]
    assert names(resp["Vendor"]) == ["Ingram Micro", "Bob's Burger Joint"]  # the inactive one is left out
    assert resp["startPosition"] == 1 and resp["maxResults"] == 2 and resp["totalCount"] == 2
    assert "time" in body
    v = resp["Vendor"][0]
    assert v["domain"] == "QBO" and v["sparse"] is False and v["SyncToken"] == "0"
    assert v["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    assert set(v["MetaData"]) == {"CreateTime", "LastUpdatedTime"}


def test_active_in_true_false_includes_inactive(qbo):
    rows = qbo.rows("select * from Vendor where Active IN (true, false)", "Vendor")
    assert "Old Supplier" in names(rows)
    assert names(qbo.rows("select * from vendor where Active = false", "Vendor")) == ["Old Supplier"]


def test_get_and_post_agree_and_keywords_are_case_insensitive(qbo):
    a = qbo.query("select * from Customer where DisplayName = 'Acme Dental'", method="GET").json()
    b = qbo.query("SELECT * FROM customer WHERE displayname = 'acme dental'").json()
    assert a["QueryResponse"]["Customer"] == b["QueryResponse"]["Customer"]


@pytest.mark.parametrize("where, expected", [
    ("Id = '301'", ["Laptop"]),
    ("Id IN ('301', '303')", ["Laptop", "Freight"]),
    ("Name = 'freight'", ["Freight"]),
    ("Name LIKE 'Lap%'", ["Laptop"]),
    ("Name LIKE '%ight'", ["Freight"]),
    ("Name LIKE '%ons%'", ["Consulting"]),
    ("Type = 'Service' AND Name LIKE 'C%'", ["Consulting"]),
    ("Name IN ('Laptop', 'Nothing')", ["Laptop"]),
])
def test_equality_in_and_like(qbo, where, expected):
    assert names(qbo.rows(f"select * from Item where {where}", "Item"), "Name") == expected


@pytest.mark.parametrize("where, expected", [
    ("TotalAmt > 50", ["1001", "B-100"]),
    ("TotalAmt >= 50", ["1001", "B-50", "B-100"]),
    ("TotalAmt < 100", ["B-10", "B-50"]),
    ("TotalAmt <= 100", ["B-10", "B-50", "B-100"]),
    ("TotalAmt >= 10 AND TotalAmt < 100 AND DocNumber LIKE 'B-%'", ["B-10", "B-50"]),
    ("DocNumber > 'B-10'", ["B-50", "B-100"]),  # strings compare as strings; rows come in Id order
])
def test_comparison_operators(qbo, where, expected):
    for amount in (10, 50, 100):
        r = qbo.post("bill", {"VendorRef": {"value": "102"}, "DocNumber": f"B-{amount}",
                              "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": amount,
                                        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "20"}}}]})
        assert r.status_code == 200, r.text
    rows = qbo.rows(f"select * from Bill where {where}", "Bill")
    assert [b["DocNumber"] for b in rows] == expected


def test_only_filterable_properties(qbo):
    for where in ("PrivateNote LIKE '%PO%'", "CurrencyRef = 'USD'"):
        err = fault_of(qbo.query(f"select * from Bill where {where}"))
        assert err["code"] == "4001" and "is not queryable" in err["Detail"]


def test_escaped_quote_backslash_and_non_ascii(qbo):
    assert names(qbo.rows(r"select * from Vendor where DisplayName = 'Bob\'s Burger Joint'", "Vendor")) == \
        ["Bob's Burger Joint"]
    for name in ["Back\\slash Co", "Café Zürich & Søn"]:  # Latin-1 letters pass the lexer
        r = qbo.post("vendor", {"DisplayName": name})
        assert r.status_code == 200, r.text
        literal = name.replace("\\", "\\\\").replace("'", "\\'")
        for method in ("GET", "POST"):
            rows = qbo.query(f"select * from Vendor where DisplayName = '{literal}'", method=method).json()
            assert names(rows["QueryResponse"]["Vendor"]) == [name]


def test_unescaped_quote_is_a_parser_error(qbo):
    r = qbo.query("select * from Vendor where DisplayName = 'Bob's Burger Joint'")
    assert r.status_code == 400
    err = fault_of(r)
    assert err["code"] == "4000" and err["Message"] == "Error parsing query"
    assert err["Detail"].startswith('QueryParserError: Encountered " <IDENTIFIER> "s "" at line 1, column 47.')
    assert r.json()["Fault"]["type"] == "ValidationFault"


@pytest.mark.parametrize("name, char, code", [("O’Neil Supplies", "\\u2019", 8217),
                                              ("Cable – 3ft", "\\u2013", 8211),
                                              ("“Quoted” Ltd", "\\u201c", 8220),
                                              ("Łódź Parts", "\\u0141", 321)])
def test_a_literal_with_a_character_above_latin1_is_a_lexical_error(qbo, name, char, code):
    # Real QBO: "QueryParserError: Invalid content. Lexical error at line 1, column 43.  Encountered:
    # "\u2019" (8217), after : "\'%Fleur"" (ruckus/quickbooks-ruby#309; also U+2013 in
    # intuit/QuickBooks-V3-PHP-SDK#397). Writing such a name is fine; looking it up by name is not.
    assert qbo.post("vendor", {"DisplayName": name}).status_code == 200
    query = f"select * from Vendor where DisplayName = '{name}'"
    at = query.index("'") + 1
    bad = next(i for i, c in enumerate(query) if ord(c) > 0xFF) + 1
    for method in ("GET", "POST"):
        r = qbo.query(query, method=method)
        assert r.status_code == 400
        err = fault_of(r)
        assert err["code"] == "4000" and err["Message"] == "Error parsing query"
        after = query[at - 1:bad - 1].replace("'", "\\'")
        assert err["Detail"] == (f"QueryParserError: Invalid content. Lexical error at line 1, column {bad}.  "
                                 f'Encountered: "{char}" ({code}), after : "{after}"')
    escaped = qbo.query(f"select * from Vendor where DisplayName = '{name[:bad - at - 1]}\\{name[bad - at - 1:]}'")
    assert fault_of(escaped)["code"] == "4000"  # a backslash does not make it readable
    batch = qbo.post("batch", {"BatchItemRequest": [{"bId": "q", "Query": query}]}).json()
    assert batch["BatchItemResponse"][0]["Fault"]["Error"][0]["code"] == "4000"


def test_star_with_named_properties_answers_as_star(qbo):
    # python-quickbooks' Item.all() sends "SELECT *, Sku FROM Item" (0.9.12, routablehq/python-quickbooks#373).
    plain = qbo.rows("select * from Item", "Item")
    assert plain and qbo.rows("SELECT *, Sku FROM Item MAXRESULTS 100", "Item") == plain
    assert qbo.rows("select *, Sku, Name from Item where Name = 'Laptop'", "Item") == \
        [r for r in plain if r["Name"] == "Laptop"]
    assert fault_of(qbo.query("select *, Sku from Vendor"))["code"] == "4001"  # vendors have no Sku
    assert fault_of(qbo.query("select Sku from Item"))["code"] == "4000"  # no projection on its own
    assert fault_of(qbo.query("select *, from Item"))["code"] == "4000"


def test_non_ascii_outside_a_literal_is_a_lexical_error(qbo):
    err = fault_of(qbo.query("select * from Vendor where DisplayName – 'x'"))
    assert err["code"] == "4000" and "Lexical error" in err["Detail"] and "\\u2013" in err["Detail"]


@pytest.mark.parametrize("text", [
    "select * from Vendor where DisplayName = 'A' OR DisplayName = 'B'",
    "select DisplayName from Vendor",
    "select * from Vendor order by DisplayName",
    "select * from Vendor where DisplayName != 'A'",
    "select * from",
    "",
])
def test_unsupported_syntax_is_refused_with_4000(qbo, text):
    r = qbo.query(text)
    assert r.status_code == 400
    assert fault_of(r)["code"] == "4000"


def test_or_is_named_in_the_error(qbo):
    err = fault_of(qbo.query("select * from Vendor where Active = true OR Active = false"))
    assert 'Encountered " <IDENTIFIER> "OR ""' in err["Detail"]


def test_paging_and_ordering(qbo):
    for i in range(12):
        assert qbo.post("customer", {"DisplayName": f"Paging {i:02d}"}).status_code == 200
    q = "select * from Customer where DisplayName LIKE 'Paging%' ORDERBY DisplayName DESC"
    page1 = qbo.query(q + " STARTPOSITION 1 MAXRESULTS 5").json()["QueryResponse"]
    page3 = qbo.query(q + " STARTPOSITION 11 MAXRESULTS 5").json()["QueryResponse"]
    assert names(page1["Customer"]) == [f"Paging {i:02d}" for i in (11, 10, 9, 8, 7)]
    assert page1["startPosition"] == 1 and page1["maxResults"] == 5
    assert names(page3["Customer"]) == ["Paging 01", "Paging 00"]
    assert page3["startPosition"] == 11 and page3["maxResults"] == 2
    beyond = qbo.query(q + " STARTPOSITION 100").json()
    assert beyond["QueryResponse"] == {}
    asc = qbo.rows("select * from Customer where DisplayName LIKE 'Paging%' ORDERBY DisplayName ASC MAXRESULTS 2",
                   "Customer")
    assert names(asc) == ["Paging 00", "Paging 01"]


def test_default_maxresults_is_100(qbo):
    for i in range(105):
        qbo.post("customer", {"DisplayName": f"Many {i:03d}"})
    resp = qbo.query("select * from Customer where DisplayName LIKE 'Many%'").json()["QueryResponse"]
    assert resp["maxResults"] == 100


def test_paging_limits(qbo):
    err = fault_of(qbo.query("select * from Vendor STARTPOSITION 0"))
    assert err["code"] == "4001"
    assert err["Detail"] == "QueryValidationError: value 0 is too small. Min allowed value is 1"
    assert qbo.query("select * from Vendor MAXRESULTS 1000").status_code == 200
    assert fault_of(qbo.query("select * from Vendor MAXRESULTS 1001"))["code"] == "4001"


def test_count(qbo):
    body = qbo.query("select count(*) from Item").json()
    assert body["QueryResponse"] == {"totalCount": 3}  # the inactive item is not counted
    body = qbo.query("SELECT COUNT(*) FROM Item WHERE Active IN (true, false) STARTPOSITION 2 MAXRESULTS 1").json()
    assert body["QueryResponse"] == {"totalCount": 4}


def test_empty_result(qbo):
    body = qbo.query("select * from Bill where DocNumber = 'nope'").json()
    assert body["QueryResponse"] == {}


def test_refs_filter_by_value_and_dates_compare(qbo):
    rows = qbo.rows("select * from Bill where VendorRef = '101' AND TxnDate >= '2000-01-01'", "Bill")
    assert [b["DocNumber"] for b in rows] == ["1001"]
    assert qbo.rows("select * from Bill where VendorRef = '102'", "Bill") == []
    assert qbo.rows("select * from Bill where MetaData.CreateTime > '2000-01-01'", "Bill")


def test_account_by_type_preferences_and_companyinfo(qbo):
    rows = qbo.rows("select * from Account where AccountType = 'Accounts Payable'", "Account")
    assert [a["Name"] for a in rows] == ["Accounts Payable (A/P)"]
    prefs = qbo.rows("select * from Preferences", "Preferences")
    assert prefs[0]["CurrencyPrefs"]["MultiCurrencyEnabled"] is False
    assert qbo.rows("select * from CompanyInfo", "CompanyInfo")[0]["CompanyName"] == "Sandbox Company US"


def test_unknown_property_and_id_operators(qbo):
    assert fault_of(qbo.query("select * from Vendor where Colour = 'red'"))["code"] == "4001"
    assert fault_of(qbo.query("select * from Vendor where Id > '5'"))["code"] == "4001"
    assert fault_of(qbo.query("select * from Widget"))["code"] == "4001"
