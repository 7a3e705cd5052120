"""API clients for Autotask REST and QuickBooks Online (with Intuit OAuth 2.0).

The engine talks to both services only through these; every protocol detail lives here once.
They share no code with sync.sandbox (the emulators), on purpose.
"""

from .autotask import AutotaskClient, FieldInfo, Picklist, PicklistValue, ThresholdInfo, ZoneInfo
from .autotask_filters import F, Filter, and_, or_
from .errors import (
    ApiError,
    AuthError,
    AutotaskAuthError,
    AutotaskError,
    AutotaskNotFound,
    AutotaskPermissionError,
    AutotaskThrottled,
    AutotaskUnavailable,
    AutotaskValidationError,
    AutotaskZoneError,
    OAuthError,
    PicklistError,
    QboAuthError,
    QboError,
    QboErrorDetail,
    QboForbidden,
    QboNotFound,
    QboThrottled,
    QboUnavailable,
    QboValidationError,
    SignInError,
    ThrottledError,
    TokenPersistError,
    TransportError,
    UnavailableError,
)
from .http import RetryPolicy
from .oauth import ACCOUNTING_SCOPE, INTUIT_OAUTH, IntuitEndpoints, IntuitOAuth, TokenSet
from .qbo import QBO_PRODUCTION, QBO_SANDBOX, BatchItem, BatchResult, QboClient, QueryPage, new_requestid
from .qbo_query import Select, quote
from .signin import Redirect, SignIn, parse_redirect, start_sign_in

__all__ = [name for name in dir() if not name.startswith("_")]
