"""What the emulator knows about each Autotask entity: field names and data types (as in Datto's
2022-07 REST swagger, `shared/autotask-api/`), which verbs exist (reference §3.9), and the
business metadata the swagger lacks (required, read-only, picklist and reference fields),
taken from the SOAP field-info cache cited in reference §3 where REST says nothing.

Field names are written once here; responses always use these spellings (camelCase), while
requests and filters are matched case-insensitively (reference §0.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# name:dataType, in swagger order. dataType strings are those of FieldInformationModel.dataType
# ("integer" for int32 as in the django fixture; "long" for int64, "double", "datetime" are the
# names Autotask uses elsewhere: UNVERIFIED for REST).
_FIELDS = {
    "PurchaseOrders": """
        id:long cancelDateTime:datetime createDateTime:datetime creatorResourceID:integer
        externalPONumber:string fax:string freight:double generalMemo:string
        impersonatorCreatorResourceID:integer internalCurrencyFreight:double
        latestEstimatedArrivalDate:datetime paymentTerm:integer phone:string
        purchaseForCompanyID:integer purchaseOrderNumber:string purchaseOrderTemplateID:integer
        shippingDate:datetime shippingType:integer shipToAddress1:string shipToAddress2:string
        shipToCity:string shipToName:string shipToPostalCode:string shipToState:string
        showEachTaxInGroup:boolean showTaxCategory:boolean status:integer submitDateTime:datetime
        taxRegionID:integer useItemDescriptionsFrom:integer vendorID:integer
        vendorInvoiceNumber:string
    """,
    "PurchaseOrderItems": """
        id:long chargeID:integer contractID:long estimatedArrivalDate:datetime
        internalCurrencyUnitCost:double inventoryLocationID:integer memo:string orderID:integer
        productID:integer projectID:long quantity:integer salesOrderID:long ticketID:long
        unitCost:double
    """,
    "PurchaseOrderItemReceiving": """
        id:long purchaseOrderItemID:long quantityBackOrdered:integer quantityNowReceiving:integer
        quantityPreviouslyReceived:integer receiveDate:datetime receivedByResourceID:integer
        serialNumber:string vendorInvoiceNumber:string
    """,
    "Companies": """
        id:long additionalAddressInformation:string address1:string address2:string
        alternatePhone1:string alternatePhone2:string apiVendorID:integer assetValue:double
        billToCompanyLocationID:integer billToAdditionalAddressInformation:string
        billingAddress1:string billingAddress2:string billToAddressToUse:integer
        billToAttention:string billToCity:string billToCountryID:integer billToState:string
        billToZipCode:string city:string classification:integer companyCategoryID:integer
        companyName:string companyNumber:string companyType:integer competitorID:integer
        countryID:integer createDate:datetime createdByResourceID:integer currencyID:integer
        fax:string impersonatorCreatorResourceID:integer invoiceEmailMessageID:integer
        invoiceMethod:integer invoiceNonContractItemsToParentCompany:boolean
        invoiceTemplateID:integer isActive:boolean isClientPortalActive:boolean
        isEnabledForComanaged:boolean isSample:boolean isTaskFireActive:boolean isTaxExempt:boolean
        lastActivityDate:datetime lastTrackedModifiedDateTime:datetime marketSegmentID:integer
        ownerResourceID:integer parentCompanyID:integer phone:string postalCode:string
        purchaseOrderTemplateID:integer quoteEmailMessageID:integer quoteTemplateID:integer
        sicCode:string state:string stockMarket:string stockSymbol:string surveyCompanyRating:double
        taxID:string taxRegionID:integer territoryID:integer webAddress:string
    """,
    "Products": """
        id:long billingType:integer chargeBillingCodeID:integer defaultVendorID:integer
        description:string doesNotRequireProcurement:boolean externalProductID:string
        impersonatorCreatorResourceID:integer internalProductID:string isActive:boolean
        isEligibleForRma:boolean isSerialized:boolean link:string manufacturerName:string
        manufacturerProductName:string markupRate:double msrp:double name:string periodType:integer
        priceCostMethod:integer productBillingCodeID:integer productCategory:integer sku:string
        unitCost:double unitPrice:double vendorProductNumber:string
        defaultInstalledProductCategoryID:integer
    """,
    "CompanyToDos": """
        id:long actionType:integer activityDescription:string assignedToResourceID:long
        companyID:long completedDate:datetime contactID:long contractID:long createDateTime:datetime
        creatorResourceID:long endDateTime:datetime impersonatorCreatorResourceID:integer
        lastModifiedDate:datetime opportunityID:long startDateTime:datetime ticketID:long
    """,
    "ActionTypes": """
        id:long name:string isActive:boolean isSystemActionType:boolean view:integer
    """,
    "Resources": """
        id:long accountingReferenceID:string dateFormat:string defaultServiceDeskRoleID:long
        email:string email2:string email3:string emailTypeCode:string emailTypeCode2:string
        emailTypeCode3:string firstName:string gender:string greeting:integer hireDate:datetime
        homePhone:string initials:string internalCost:double isActive:boolean lastName:string
        licenseType:integer locationID:integer middleName:string mobilePhone:string
        numberFormat:string officeExtension:string officePhone:string payrollType:integer
        resourceType:string suffix:integer surveyResourceRating:double timeFormat:string
        title:string travelAvailabilityPct:string userName:string userType:integer
    """,
    "Currencies": """
        id:long currencyNegativeFormat:string currencyPositiveFormat:string description:string
        displaySymbol:integer exchangeRate:double isActive:boolean isInternalCurrency:boolean
        lastModifiedDateTime:datetime name:string updateResourceId:integer
    """,
    "InventoryLocations": """
        id:long impersonatorCreatorResourceID:integer isActive:boolean isDefault:boolean
        locationName:string resourceID:integer
    """,
}


@dataclass(frozen=True)
class EntityDef:
    name: str  # REST path name, e.g. "PurchaseOrders"
    fields: dict[str, str]  # canonical name -> dataType, in swagger order
    root_verbs: frozenset[str]  # verbs on /{Entity}: POST, PATCH, PUT
    can_delete: bool = False  # DELETE /{Entity}/{id}
    parent: str | None = None  # written only through this parent...
    parent_path: str | None = None  # ...at /{parent}/{id}/{parent_path}
    parent_field: str | None = None  # the child's field holding the parent id
    has_udfs: bool = False
    required: frozenset[str] = frozenset()  # on create
    read_only: frozenset[str] = frozenset()  # never written by clients
    create_only: frozenset[str] = frozenset()  # written on create, read-only afterwards
    picklists: frozenset[str] = frozenset()  # values come from the seed's picklists
    references: dict[str, str] = field(default_factory=dict)  # field -> referenced entity
    lengths: dict[str, int] = field(default_factory=dict)

    def canonical(self, name: str) -> str | None:
        """The swagger spelling of a field name given in any casing, or None."""
        return _lower_index(self).get(name.lower())


_INDEX_CACHE: dict[str, dict[str, str]] = {}


def _lower_index(e: EntityDef) -> dict[str, str]:
    idx = _INDEX_CACHE.get(e.name)
    if idx is None:
        idx = {n.lower(): n for n in e.fields}
        _INDEX_CACHE[e.name] = idx
    return idx


def _fields(spec: str) -> dict[str, str]:
    pairs = (item.split(":") for item in spec.split())
    return {name: dtype for name, dtype in pairs}


def _s(*names: str) -> frozenset[str]:
    return frozenset(names)


ENTITIES: dict[str, EntityDef] = {e.name: e for e in [
    EntityDef(
        "PurchaseOrders", _fields(_FIELDS["PurchaseOrders"]), _s("POST", "PATCH", "PUT"),
        # SOAP meta: required VendorID, Status, ShipToName, ShipToAddress1. Status is not required
        # here because third-party code creates POs without it (reference §4): the default applies.
        required=_s("vendorID", "shipToName", "shipToAddress1"),
        read_only=_s("creatorResourceID", "createDateTime", "submitDateTime", "cancelDateTime",
                     "latestEstimatedArrivalDate", "internalCurrencyFreight", "purchaseOrderNumber",
                     "impersonatorCreatorResourceID"),
        create_only=_s("vendorID"),
        picklists=_s("status", "paymentTerm", "taxRegionID", "useItemDescriptionsFrom",
                     "purchaseOrderTemplateID", "shippingType"),
        references={"vendorID": "Companies", "purchaseForCompanyID": "Companies"},
        lengths={"shipToName": 100, "shipToAddress1": 128, "shipToAddress2": 128, "shipToCity": 30,
                 "shipToState": 25, "shipToPostalCode": 10, "generalMemo": 4000, "phone": 25, "fax": 25,
                 "vendorInvoiceNumber": 50, "externalPONumber": 50},
    ),
    EntityDef(
        "PurchaseOrderItems", _fields(_FIELDS["PurchaseOrderItems"]), frozenset(),
        parent="PurchaseOrders", parent_path="Items", parent_field="orderID",
        # SOAP meta: required OrderID, InventoryLocationID, Quantity, UnitCost.
        required=_s("quantity", "unitCost", "inventoryLocationID"),
        read_only=_s("salesOrderID", "contractID", "projectID", "ticketID", "internalCurrencyUnitCost"),
        create_only=_s("orderID"),
        references={"orderID": "PurchaseOrders", "productID": "Products", "inventoryLocationID": "InventoryLocations"},
        lengths={"memo": 4000},
    ),
    EntityDef(
        # Swagger: PurchaseOrderItemReceivingModel; query and GET at the root, create only under
        # PurchaseOrderItems/{id}/Receiving (no PATCH, PUT or DELETE anywhere). The quantities
        # before and after are Autotask's own account of the item (read-only here); receiving
        # more than is still outstanding is refused (UNVERIFIED wording, stricter side).
        "PurchaseOrderItemReceiving", _fields(_FIELDS["PurchaseOrderItemReceiving"]), frozenset(),
        parent="PurchaseOrderItems", parent_path="Receiving", parent_field="purchaseOrderItemID",
        required=_s("quantityNowReceiving"),
        read_only=_s("quantityBackOrdered", "quantityPreviouslyReceived", "receivedByResourceID"),
        create_only=_s("purchaseOrderItemID", "quantityNowReceiving", "receiveDate", "serialNumber",
                       "vendorInvoiceNumber"),
        references={"purchaseOrderItemID": "PurchaseOrderItems"},
        lengths={"serialNumber": 100, "vendorInvoiceNumber": 50},
    ),
    EntityDef(
        "Companies", _fields(_FIELDS["Companies"]), _s("POST", "PATCH", "PUT"), has_udfs=True,
        required=_s("companyName", "companyType", "ownerResourceID", "phone"),
        read_only=_s("createDate", "createdByResourceID", "lastActivityDate", "lastTrackedModifiedDateTime",
                     "impersonatorCreatorResourceID"),
        picklists=_s("companyType", "classification", "marketSegmentID", "territoryID", "countryID"),
        references={"ownerResourceID": "Resources", "currencyID": "Currencies", "parentCompanyID": "Companies"},
        lengths={"companyName": 100, "phone": 25},
    ),
    EntityDef(
        "Products", _fields(_FIELDS["Products"]), _s("POST", "PATCH", "PUT"), has_udfs=True,
        required=_s("name"),
        read_only=_s("impersonatorCreatorResourceID"),
        picklists=_s("billingType", "periodType", "priceCostMethod", "productCategory"),
        references={"defaultVendorID": "Companies"},
        lengths={"name": 100, "description": 2000, "sku": 50, "manufacturerProductName": 50,
                 "vendorProductNumber": 50},
    ),
    EntityDef(
        "CompanyToDos", _fields(_FIELDS["CompanyToDos"]), frozenset(),
        parent="Companies", parent_path="ToDos", parent_field="companyID",
        required=_s("actionType", "assignedToResourceID", "startDateTime", "endDateTime"),
        read_only=_s("createDateTime", "creatorResourceID", "lastModifiedDate", "impersonatorCreatorResourceID"),
        create_only=_s("companyID"),
        references={"actionType": "ActionTypes", "assignedToResourceID": "Resources", "companyID": "Companies"},
        lengths={"activityDescription": 32000},
    ),
    EntityDef(
        "ActionTypes", _fields(_FIELDS["ActionTypes"]), _s("POST", "PATCH", "PUT"), can_delete=True,
        required=_s("name", "view"), read_only=_s("isSystemActionType"), picklists=_s("view"),
        lengths={"name": 32},
    ),
    EntityDef(
        "Resources", _fields(_FIELDS["Resources"]), _s("PATCH", "PUT"),
        read_only=_s("userName", "licenseType", "resourceType", "userType"),
        picklists=_s("licenseType", "userType", "payrollType", "greeting", "suffix"),
    ),
    EntityDef(
        # SOAP meta: every Currency field is read-only except ExchangeRate (and the timestamp).
        "Currencies", _fields(_FIELDS["Currencies"]), _s("PATCH", "PUT"),
        read_only=_s("currencyNegativeFormat", "currencyPositiveFormat", "description", "displaySymbol",
                     "isActive", "isInternalCurrency", "lastModifiedDateTime", "name", "updateResourceId"),
        picklists=_s("displaySymbol"),
        lengths={"name": 3},
    ),
    EntityDef(
        "InventoryLocations", _fields(_FIELDS["InventoryLocations"]), _s("POST", "PATCH", "PUT"),
        required=_s("locationName"), read_only=_s("impersonatorCreatorResourceID"),
        references={"resourceID": "Resources"},
    ),
]}

_BY_LOWER = {name.lower(): e for name, e in ENTITIES.items()}


def entity(name: str) -> EntityDef | None:
    """The entity for a path segment in any casing."""
    return _BY_LOWER.get(name.lower())


def child_of(parent: EntityDef, segment: str) -> EntityDef | None:
    """The child entity written at /{parent}/{id}/{segment}, e.g. PurchaseOrders/5/Items."""
    for e in ENTITIES.values():
        if e.parent == parent.name and e.parent_path and e.parent_path.lower() == segment.lower():
            return e
    return None
