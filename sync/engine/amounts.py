"""Money arithmetic for bill lines: Decimal throughout, rounded half-up to cents.

Autotask sends `unitCost` and `freight` as JSON numbers (binary floats). They are read via
their shortest decimal representation (`Decimal(str(x))`), so 0.1 stays 0.1 and not
0.1000000000000000055511151231257827.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal:
    """An Autotask number (int, float, numeric string, None → 0) as an exact Decimal."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, Decimal):
        return value
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return result


def round_money(value: Decimal) -> Decimal:
    """Round half-up to two decimals (0.005 → 0.01, 2.675 → 2.68, -0.005 → -0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: object, unit_price: object) -> Decimal:
    """Amount = round-half-up(Qty × UnitPrice, 2), computed exactly."""
    return round_money(to_decimal(quantity) * to_decimal(unit_price))


def json_number(value: Decimal) -> int | float:
    """A Decimal for a JSON body: an int when whole, else the float whose shortest repr is the
    same decimal (true for any amount with up to 15 significant digits, QBO's own limit)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def line_refusal(quantity: object, unit_cost: object) -> str | None:
    """Why a PO line cannot become a bill line as it is, or None. A bill line bills: a
    quantity of 0 or less, or a negative unit cost, is a return or a credit (a vendor credit in
    QuickBooks, entered by hand), and billing it would silently lower or zero the bill."""
    try:
        qty, cost = to_decimal(quantity), to_decimal(unit_cost)
    except ValueError:
        return "its quantity or unit cost is not a number"
    if qty <= 0:
        return "its quantity is 0 or less"
    if cost < 0:
        return "its unit cost is negative"
    return None
