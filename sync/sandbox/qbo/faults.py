"""QBO Fault bodies (reference/qbo-api.md §5): one exception type carries a fault through the
emulator, and these helpers build the exact JSON the real service answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# The company's clock: QBO stamps times in the company's zone (Intuit's samples use -08:00 / -07:00).
COMPANY_TZ = timezone(timedelta(hours=-8))


def now_iso(millis: bool = True) -> str:
    t = datetime.now(COMPANY_TZ)
    if millis:
        return t.isoformat(timespec="milliseconds")
    return t.isoformat(timespec="seconds")


class QboFault(Exception):
    """A fault answered as {"Fault":{"Error":[...],"type":...},"time":...} with an HTTP status."""

    def __init__(self, code: str, message: str, detail: str, *, element: str = "",
                 type_: str = "ValidationFault", status: int = 400) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.type = type_
        self.status = status

    def fault(self) -> dict:
        return {"Error": [{"Message": self.message, "Detail": self.detail, "code": self.code,
                           "element": self.element}], "type": self.type}

    def body(self) -> dict:
        return {"Fault": self.fault(), "time": now_iso()}


BUSINESS_MESSAGE = "A business validation error has occurred while processing your request"


def business(detail: str, element: str = "") -> QboFault:
    return QboFault("6000", BUSINESS_MESSAGE, f"Business Validation Error: {detail}", element=element)


def duplicate_name(kind: str) -> QboFault:
    # Real payloads name the kind of the record that already holds the name (§5.3).
    return QboFault("6240", "Duplicate Name Exists Error",
                    f"The name supplied already exists. : Another {kind} is already using this name. "
                    "Please use a different name.")


def duplicate_doc_number(doc: str, txn_id: str) -> QboFault:
    return QboFault("6140", "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. This number has "
                    f"already been used. DocNumber={doc} is assigned to TxnType=Bill with TxnId={txn_id}",
                    element="DocNumber")


def required(param: str) -> QboFault:
    return QboFault("2020", "Required param missing, need to supply the required value for the API",
                    f"Required parameter {param} is missing in the request", element=param)


def too_long(field: str, limit: int, length: int) -> QboFault:
    return QboFault("2050", "Length exceeds limit",
                    "String length specified does not match the supported length. "
                    f"Min:0 Max:{limit:,} supported. Supplied length:{length:,}", element=field)


def invalid_reference(field: str, value: object) -> QboFault:
    return QboFault("2500", "Invalid Reference Id",
                    f"Invalid Reference Id : Something you're trying to use has been made inactive. "
                    f"Check the fields with accounts. {field} value {value} does not exist", element=field)


def inactive_reference(field: str) -> QboFault:
    return QboFault("610", "Object Not Found",
                    "Object Not Found : Something you're trying to use has been made inactive. "
                    "Check the fields with accounts.", element=field)


def not_found(entity: str, id_: str) -> QboFault:
    return QboFault("610", "Object Not Found",
                    f"Object Not Found : Something you're trying to use has been made inactive. "
                    f"Check the fields with accounts. {entity} Id={id_} was not found")


def amount_mismatch(supplied: float) -> QboFault:
    return QboFault("6070", "Amount is not equal to UnitPrice * Qty",
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied:,}", element="Line.Amount")


def invalid_value(field: str, detail: str) -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property",
                    f"Property Name:{detail} specified is unsupported or invalid", element=field)


def parser_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_invalid(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def unsupported(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", f"Operation {detail} is not supported.")


def duplicate_request_id() -> QboFault:
    return QboFault("600", "Duplicate Request ID",
                    "RequestId already exists in the system, duplicate request is detected")


def batch_too_large(limit: int) -> QboFault:
    return QboFault("1040", "Batch size exceeds allowed limit",
                    f"Batch size exceeds allowed limit: the maximum is {limit} BatchItemRequest items")


def throttled() -> QboFault:
    return QboFault("3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                    "The request limit was reached.", type_="SERVICE", status=429)


def system_error(status: int) -> QboFault:
    return QboFault("10000", "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred while accessing or saving your data. "
                    "Please wait a few minutes and try again. If the problem persists, contact customer support.",
                    type_="SystemFault", status=status)


def auth_body(code: str, message: str, detail: str, type_: str) -> dict:
    """The lower-case JSON body QBO answers for token problems (§5.2), extra nulls included."""
    return {"warnings": None, "intuitObject": None,
            "fault": {"error": [{"message": message, "detail": detail, "code": code, "element": None}],
                      "type": type_},
            "report": None, "queryResponse": None, "batchItemResponse": [], "attachableResponse": [],
            "syncErrorResponse": None, "requestId": None, "time": int(datetime.now().timestamp() * 1000),
            "status": None, "cdcresponse": []}
