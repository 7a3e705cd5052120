"""The catalogue of reasons a purchase order (or a whole scan) does not sync.

A cause is a stable code (for logs, filters, tests), a sentence in plain words saying what
went wrong, and a sentence saying what to fix. It is what the operator sees in the to-do, the
error log, the e-mail and the console; it is never a stack trace. Details (names, numbers,
what the API said) are filled into the templates; an API's own message is quoted as-is
because it is often the most precise words available, its control characters shown as
escapes (sync.text).
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.text import shown


@dataclass(frozen=True)
class Cause:
    code: str
    cause: str
    fix: str
    scan_level: bool = False  # concerns every PO: stops the scan instead of failing one PO


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return "?"


# code → (cause template, fix template, scan level)
CATALOGUE: dict[str, tuple[str, str, bool]] = {
    # ---- matching: vendors and customers
    "vendor_not_found": (
        "The PO's vendor (Autotask organization id {company_id}) could not be read from Autotask.",
        "Check that the PO has a vendor and that the API user may see that organization, then retry.", False),
    "customer_not_found": (
        "The PO's \"purchase for\" organization (Autotask id {company_id}) could not be read from Autotask.",
        "Check the PO's \"purchase for\" organization and the API user's permissions, then retry.", False),
    "name_clash_vendor_is_customer": (
        "The vendor \"{name}\" cannot be created in QuickBooks: a QuickBooks customer already has that name, "
        "and QuickBooks names must be unique across customers and vendors.",
        "Rename the customer or the vendor in QuickBooks (or the organization in Autotask) so the names differ, "
        "then retry.", False),
    "name_clash_customer_is_vendor": (
        "The customer \"{name}\" cannot be created in QuickBooks: a QuickBooks vendor already has that name, "
        "and QuickBooks names must be unique across customers and vendors.",
        "Rename the vendor or the customer in QuickBooks (or the organization in Autotask) so the names differ, "
        "then retry.", False),
    "name_clash": (
        "The {kind} \"{name}\" cannot be created in QuickBooks: another QuickBooks record ({other}) "
        "already uses that name.",
        "Rename or reactivate that record in QuickBooks so it does not collide, then retry.", False),
    # ---- links (issue 16): a linked record is used before any name, and never replaced silently
    "link_target_deleted": (
        "{kind} {qbo_id} linked to {name} was deleted in QuickBooks.",
        "Link the {what} to another QuickBooks {kind} (atqbo link {kind} {autotask_id} QBO_ID), or unlink it "
        "(atqbo unlink {kind} {autotask_id}) to match it by name again, then retry.", False),
    "link_target_inactive": (
        "{kind} {qbo_id} linked to {name} was made inactive in QuickBooks.",
        "Make {kind} {qbo_id} active again in QuickBooks, or link the {what} to another {kind} "
        "(atqbo link {kind} {autotask_id} QBO_ID), or unlink it (atqbo unlink {kind} {autotask_id}), then retry.",
        False),
    "near_name": (
        "The {kind} \"{name}\" is not in QuickBooks by that name; did you mean {candidates}?",
        "Approve the link (atqbo link {kind} {autotask_id} {qbo_id}) if it is the same {kind}; to create a new "
        "{kind} instead, set near_match to create, then retry.", False),
    "name_invalid": (
        "The {kind} name \"{name}\" cannot be used in QuickBooks (it is empty once made valid).",
        "Give the {kind} a name in Autotask, then retry.", False),
    "vendor_create_rejected": (
        "QuickBooks refused to create the vendor \"{name}\": {api}",
        "Create the vendor in QuickBooks by hand (exactly this name), or correct the organization in Autotask, "
        "then retry.", False),
    "customer_create_rejected": (
        "QuickBooks refused to create the customer \"{name}\": {api}",
        "Create the customer in QuickBooks by hand (exactly this name), or correct the organization in Autotask, "
        "then retry.", False),
    # ---- items
    "po_no_items": (
        "The PO has no items, so there is nothing to bill.",
        "Add the items to the PO in Autotask, then retry.", False),
    "line_not_billable": (
        "Item {line} of the PO (Autotask item id {item_id}: quantity {quantity}, unit cost {unit_cost}) "
        "cannot be billed: {why}. Nothing was sent to QuickBooks for this PO.",
        "Correct the item's quantity (above 0) or unit cost (0 or more) in Autotask, then retry. A return "
        "or credit goes into QuickBooks as a vendor credit, entered there by hand.", False),
    "product_missing": (
        "PO item {item_id} has no product (or its product {product_id} could not be read), so it cannot be matched "
        "to a QuickBooks item.",
        "Set a product on the PO item in Autotask, then retry.", False),
    "missing_item": (
        "No QuickBooks item is named \"{name}\", and the setting for missing items is to stop with an error.",
        "Create the item \"{name}\" in QuickBooks (with an expense account), or set missing items to be created, "
        "then retry.", False),
    "item_not_purchasable": (
        "The QuickBooks item \"{name}\" is not set up for purchasing (it has no expense account), so it cannot be "
        "put on a {document}.",
        "In QuickBooks, edit the item, tick \"I purchase this product/service from a vendor\" and choose an "
        "expense account, then retry.", False),
    "item_create_rejected": (
        "QuickBooks refused to create the item \"{name}\": {api}",
        "Create the item in QuickBooks by hand, or check the expense account for new items in the settings, "
        "then retry.", False),
    # ---- bill
    "doc_number_taken": (
        "A QuickBooks {document} numbered {doc_number} already exists, and {document} numbers are taken from "
        "Autotask, so the PO was not synced.",
        "Renumber or delete the existing {document} {doc_number} in QuickBooks, or take numbers from QuickBooks in the "
        "settings, then retry.", False),
    "doc_number_too_long": (
        "{detail}",
        "Use a PO number of at most 21 characters, or take bill numbers from QuickBooks in the settings, "
        "then retry.", False),
    "bill_deleted": (
        "This PO was transferred before as {document} {doc_number}, which no longer exists in QuickBooks; atqbo "
        "does not create a second {document} for a PO on its own.",
        "If the {document} was deleted by mistake, restore or re-enter it in QuickBooks and put its number in the PO's "
        "External PO Number; if the PO should not be billed, leave it as it is.", False),
    "ap_account_missing": (
        "The A/P account chosen in the settings ({account}) does not exist in QuickBooks or is not an "
        "Accounts Payable account, so no {document} can be recorded.",
        "Choose an existing Accounts Payable account in the settings.", True),
    "expense_account_missing": (
        "The expense account for new items ({account}) does not exist in QuickBooks.",
        "Choose an existing expense account for new items in the settings, then retry.", False),
    "bill_request_unmatched": (
        "QuickBooks answered that this {document} request had been made before (Duplicate Request ID), yet no "
        "{document} naming this PO can be found in QuickBooks, so atqbo sent nothing again.",
        "Look in QuickBooks for a {document} whose memo names \"Autotask PO id {po_id}\": if there is one, put its number "
        "in the PO's External PO Number; if there is none, retry (a retry is a new request).", False),
    "bill_not_this_po": (
        "QuickBooks answered the {document} request for this PO with {document} {bill_id} (number {doc_number}), "
        "which does not name this PO, so nothing was written back to the PO.",
        "Look at {document} {bill_id} in QuickBooks, then retry: atqbo first looks QuickBooks up for the {document} "
        "that names this PO and creates one only when there is none.", False),
    "bill_without_number": (
        "{Document} {bill_id} in QuickBooks names this PO but has no {document} number, so there is no number to write "
        "back (atqbo does not make a second {document}).",
        "Give {document} {bill_id} a number in QuickBooks, then retry.", False),
    "receipt_number_taken": (
        "QuickBooks already has a bill numbered {doc_number}, the number for this PO's received goods.",
        "Renumber or remove that bill in QuickBooks, or set po_number_source to quickbooks; then retry.", False),
    "receipt_bill_rejected": (
        "QuickBooks refused the bill for this PO's received goods: {api}",
        "Correct what QuickBooks names above (on the purchase order or the items in QuickBooks), then retry.", False),
    "receipt_purchase_order_deleted": (
        "The QuickBooks purchase order {doc_number} of this PO is gone, so its received goods cannot be billed against it.",
        "Bill the received goods in QuickBooks by hand; atqbo follows this PO no more.", False),
    "receipt_purchase_order_changed": (
        "The QuickBooks purchase order {doc_number} no longer has a line for each item of the Autotask PO.",
        "Put the purchase order's lines back as they were in QuickBooks; the next scan bills the receipts.", False),
    "receipt_number_too_long": (
        "The bill number {doc_number} for received goods is longer than QuickBooks allows (21 characters).",
        "Shorten the Autotask PO number, or set po_number_source to quickbooks; the next scan tries again.", False),
    "transfer_as_changed": (
        "PO {po_id} was being sent to QuickBooks as a {document} when the transfer_as setting changed; "
        "QuickBooks does not show it yet.",
        "Set transfer_as back until this PO is done, or check QuickBooks and retry.", False),
    "sent_as_other_document": (
        "QuickBooks already has a {found} numbered {doc_number} for PO {po_number} (found by the PO's tag), "
        "but transfer_as now sends POs as a {document}; no {document} is made beside it.",
        "Set transfer_as back to {setting} until this PO is done, or, if that {found} is wrong, delete it in "
        "QuickBooks; then retry.", False),
    "bill_rejected": (
        "QuickBooks refused the {document}: {api}",
        "Correct what QuickBooks names above (in QuickBooks or on the PO in Autotask), then retry.", False),
    "qbo_rejected": (
        "QuickBooks refused a request: {api}",
        "Correct what QuickBooks names above, then retry.", False),
    "autotask_rejected": (
        "Autotask refused a request: {api}",
        "Correct what Autotask names above, then retry.", False),
    "writeback_failed": (
        "{Document} {doc_number} was created in QuickBooks, but its number could not be written to the PO's "
        "External PO Number in Autotask: {api}",
        "Check the API user's permission to edit purchase orders, then retry (the {document} is not created again).",
        False),
    "writeback_conflict": (
        "{Document} {doc_number} was created in QuickBooks for this PO, but the PO's External PO Number in Autotask "
        "already holds {external}, so atqbo did not overwrite it.",
        "If {external} is wrong, clear the External PO Number in Autotask and retry ({document} {doc_number} is "
        "written back, not created again); if it is right, delete {document} {doc_number} in QuickBooks.", False),
    # ---- currency
    "currency_mismatch": (
        "The vendor \"{vendor}\" uses {qbo} in QuickBooks but the PO is in {autotask}: {why}.",
        "Make the vendor's currency the same in both systems (QuickBooks cannot change a vendor's currency: "
        "use or create a vendor in {autotask}), then retry.", False),
    "currency_no_ap_account": (
        "QuickBooks has no Accounts Payable account in {currency}, so a bill in {currency} cannot be recorded.",
        "Create an Accounts Payable account in {currency} in QuickBooks, then retry.", False),
    "currency_unknown": (
        "The currency of vendor \"{vendor}\" (Autotask currency id {currency_id}) is not an active Autotask currency.",
        "Check the vendor's currency in Autotask, then retry.", False),
    # ---- one PO (sync one)
    "po_not_found": (
        "Autotask has no purchase order with id {po_id} (or the API user cannot see it).",
        "Check the PO id (the number in the PO's Autotask URL), then try again.", False),
    "po_already_synced": (
        "PO {po_number} was already transferred: its External PO Number is {external}.",
        "Nothing to do: the PO already has its {document}.", False),
    "po_not_submitted": (
        "PO {po_number} is not submitted in Autotask (its status is {status}), so it is not ready to be billed.",
        "Submit the PO in Autotask, then sync it again.", False),
    "unexpected": (
        "An unexpected problem stopped this PO: {detail}",
        "Retry; if it happens again, report it with this log entry.", False),
    # ---- scan level: told once, not one error per PO
    "multicurrency_qbo_off": (
        "Multi-currency is on in Autotask but off in QuickBooks, so no purchase order can be transferred.",
        "Turn on multi-currency in QuickBooks (Settings > Account and settings > Advanced > Currency), "
        "or use a single currency in Autotask.", True),
    "autotask_auth": (
        "Autotask refused the API user's credentials: {api}",
        "Check the API user name, secret and integration code (an API user's password can expire), "
        "then reconnect Autotask.", True),
    "qbo_auth": (
        "QuickBooks refused atqbo's authorization (the connection may have been revoked or expired): {api}",
        "Reconnect QuickBooks (sign in again) from the connection screen.", True),
    "autotask_down": (
        "Autotask is not answering properly: {api}",
        "Nothing to fix on your side; the next scan will try again. Check Autotask's status page if it persists.",
        True),
    "autotask_untrusted_url": (
        "Autotask's answer pointed atqbo at a host it does not send the API secret to: {api}",
        "Nothing was sent there. If your Autotask really is served from that host, reconnect with "
        "atqbo connect autotask --zone-url naming it; otherwise check the network between this machine "
        "and Autotask (a proxy rewriting answers).", True),
    "qbo_down": (
        "QuickBooks Online is not answering properly: {api}",
        "Nothing to fix on your side; the next scan will try again. Check Intuit's status page if it persists.",
        True),
    "status_picklist": (
        "The \"Submitted\" purchase order status could not be found in Autotask: {api}",
        "Check that the API user may read purchase orders and that the status picklist has \"Submitted\".", True),
    "token_store_failed": (
        "A new QuickBooks token could not be saved, so atqbo stopped before it could lose the connection: {api}",
        "Check that the data folder is writable and not full, then scan again.", True),
    "settings_unreadable": (
        "The settings could not be read: {detail}",
        "Correct the settings (atqbo settings show / set, or the console's Settings screen), then scan again.",
        True),
    "settings_incomplete": (
        "The settings are incomplete: {detail}",
        "Complete the settings, then scan again.", True),
    "storage_fault": (
        "atqbo cannot write its records in {detail}: {what}. The transfer stopped before "
        "anything could be half-done; what was saved before is intact.",
        "{fix} The next scan carries on where this one stopped.", True),
}


def make(code: str, **details: object) -> Cause:
    """The cause for `code` with its details filled in (missing details show as "?")."""
    template = CATALOGUE.get(code)
    if template is None:
        code, template = "unexpected", CATALOGUE["unexpected"]
        details.setdefault("detail", "unknown cause")
    cause_t, fix_t, scan_level = template
    # The document a PO goes to QBO as (transfer_as); a bill unless the caller names another.
    details.setdefault("document", "bill")
    details.setdefault("Document", str(details["document"])[:1].upper() + str(details["document"])[1:])
    values = _Defaults({k: _clean(v) for k, v in details.items()})
    return Cause(code=code, cause=cause_t.format_map(values), fix=fix_t.format_map(values), scan_level=scan_level)


def _clean(value: object) -> str:
    # Causes land in to-dos, mail and one-line log views: keep them on one line and bounded,
    # and a detail from outside (a name, what an API said) never carries a control character.
    text = shown(" ".join(str(value).split()))
    return text if len(text) <= 600 else text[:597] + "..."
