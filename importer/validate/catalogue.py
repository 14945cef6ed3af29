"""The validation stage's issue codes, with their message templates and fix hints.

Codes are stable, dotted and lower-case: scripts and partners rely on them. Each stage
declares its own codes (the operations theirs, in `importer/send/operations/`), never
inline; `importer.catalogue` collects them all, and the README's table is generated
from it (a test fails when the two drift apart).
"""

from __future__ import annotations

from importer.models import IssueType, Severity

_WARNING = Severity.WARNING

# -- rows --------------------------------------------------------------------------
ROW_RAGGED = IssueType(
    "row.ragged",
    "row has {found} cells but the header has {expected}",
    "check for a stray delimiter or a missing quote in this row",
    _WARNING,
)
ROW_DUPLICATE = IssueType(
    "row.duplicate",
    "number +{normalized} already appears in row {first_row}",
    "delete this row; the first occurrence is the one imported",
)
ROW_DUPLICATE_CONFLICT = IssueType(
    "row.duplicate_conflict",
    "number +{normalized} already appears in row {first_row} with capabilities {first_mask}",
    "keep one row per number with the capabilities you want",
)

# -- cells -------------------------------------------------------------------------
CELL_ERROR = IssueType(
    "cell.error",
    "the cell shows the spreadsheet error {value} ({meaning}), not a phone number",
    "fix the formula, or what it refers to, in the sheet; or type the number, e.g. +12059051025",
)

# -- phonenumber -------------------------------------------------------------------
PHONENUMBER_MISSING = IssueType(
    "phonenumber.missing",
    "phone number is empty",
    "enter the number in E.164 form, e.g. +12059051025",
)
PHONENUMBER_NOT_A_NUMBER = IssueType(
    "phonenumber.not_a_number",
    "'{value}' is not a phone number",
    "enter the number in E.164 form, e.g. +12059051025",
)
PHONENUMBER_NO_REGION = IssueType(
    "phonenumber.no_region",
    "'{value}' has no country code and no default region was given",
    "write the number with its +country code, or pass --default-region (e.g. US)",
)
PHONENUMBER_NOT_POSSIBLE = IssueType(
    "phonenumber.not_possible",
    "'{value}' has the wrong number of digits for its country",
    "check for a missing or extra digit",
)
PHONENUMBER_INVALID = IssueType(
    "phonenumber.invalid",
    "'{value}' is not a valid number for its country",
    "check the area code and the country code",
)
PHONENUMBER_EXCEL_PRECISION_LOST = IssueType(
    "phonenumber.excel_precision_lost",
    "'{value}' was damaged by a spreadsheet (scientific notation or lost digits)",
    "format the column as Text and type the number again, e.g. +12059051025",
)
PHONENUMBER_EXTENSION = IssueType(
    "phonenumber.extension",
    "'{value}' has extension {extension}: it names a line behind a switchboard (PBX), "
    "not a number that can be registered",
    "enter the main number alone, without the extension, if that is the number to register",
)
PHONENUMBER_AMBIGUOUS = IssueType(
    "phonenumber.ambiguous",
    "'{value}' reads as +{international}, or in region {region} as +{national}",
    "write the number with + and the country code you mean",
)
PHONENUMBER_COUNTRY_NOT_ALLOWED = IssueType(
    "phonenumber.country_not_allowed",
    "+{normalized} is a number of {country}, outside the allowed countries ({allowed})",
    "remove the row, or ask for the country to be added to [validation] allowed_countries",
)
PHONENUMBER_PREFIX_NOT_ALLOWED = IssueType(
    "phonenumber.prefix_not_allowed",
    "+{normalized} does not start with an allowed prefix ({allowed})",
    "remove the row, or ask for the prefix to be added to [validation] allowed_prefixes",
)
PHONENUMBER_SMS_UNLIKELY = IssueType(
    "phonenumber.sms_unlikely",
    "+{normalized} is {kind}, which usually cannot take SMS",
    "check with the number's carrier that it can receive SMS ([validation] sms_incapable_types)",
    _WARNING,
)

# -- capabilities ------------------------------------------------------------------
CAPABILITIES_MISSING = IssueType(
    "capabilities.missing",
    "capabilities are empty and no default was given",
    "enter a mask such as 3 (SMS in+out) or 27 (all messaging), or pass --capabilities",
)
CAPABILITIES_NOT_AN_INTEGER = IssueType(
    "capabilities.not_an_integer",
    "'{value}' is not a capability mask",
    "enter a whole number from 1 to 31 without voice (4), e.g. 3 or 27",
)
CAPABILITIES_OUT_OF_RANGE = IssueType(
    "capabilities.out_of_range",
    "capability mask {value} is outside 1..31",
    "use the sum of 1 (SMS in), 2 (SMS out), 8 (MMS in), 16 (MMS out)",
)
CAPABILITIES_VOICE_NOT_ALLOWED = IssueType(
    "capabilities.voice_not_allowed",
    "capability mask {value} includes voice (4), which External DIDs never support",
    "remove the voice bit: subtract 4 from the mask",
)
CAPABILITIES_NO_MESSAGING = IssueType(
    "capabilities.no_messaging",
    "capability mask {value} has no messaging capability",
    "set at least one of 1 (SMS in), 2 (SMS out), 8 (MMS in), 16 (MMS out)",
)
CAPABILITIES_MMS_WITHOUT_SMS = IssueType(
    "capabilities.mms_without_sms",
    "capability mask {value} has MMS but no SMS",
    "MMS-only numbers are unusual: add 1 (SMS in) and 2 (SMS out) unless you mean it",
    _WARNING,
)

# -- other fields ------------------------------------------------------------------
CARRIER_SID_NOT_UUID = IssueType(
    "underlying_carrier_sid.not_uuid",
    "'{value}' is not a carrier SID (a UUID)",
    "copy the underlying carrier SID from the CarrierX portal, or leave it empty",
)
CARRIER_SID_MISSING = IssueType(
    "underlying_carrier_sid.missing",
    "no underlying carrier SID, and the partner has no default carrier",
    "enter the carrier SID from the CarrierX portal, or pass --carrier",
)
CALLBACK_URL_INVALID = IssueType(
    "callback_url.invalid",
    "'{value}' is not an absolute http(s) URL",
    "write the full URL, e.g. https://example.com/sms-callback",
)
CALLBACK_URL_HAS_SPACES = IssueType(
    "callback_url.has_spaces",
    "'{value}' contains spaces or invisible characters",
    "remove the spaces; encode a space inside the URL as %20",
)
CALLBACK_URL_TOO_LONG = IssueType(
    "callback_url.too_long",
    "callback URL is {length} characters long; at most {limit} are accepted",
    "use a shorter URL",
)
CALLBACK_URL_NOT_HTTPS = IssueType(
    "callback_url.not_https",
    "'{value}' uses plain http: SMS events would travel unencrypted",
    "use https:// if the receiving server supports it",
    _WARNING,
)
NAME_TOO_LONG = IssueType(
    "name.too_long",
    "name is {length} characters long; at most {limit} are accepted",
    "shorten the name",
)
STRING_KEY_1_TOO_LONG = IssueType(
    "string_key_1.too_long",
    "string_key_1 is {length} characters long; at most {limit} are accepted",
    "shorten the value",
)
STRING_KEY_2_TOO_LONG = IssueType(
    "string_key_2.too_long",
    "string_key_2 is {length} characters long; at most {limit} are accepted",
    "shorten the value",
)
ATTRIBUTES_NOT_AN_OBJECT = IssueType(
    "attributes.not_an_object",
    "'{value}' is not a JSON object",
    'write a JSON object, e.g. {"team": "sales"}, or leave the cell empty',
)

CATALOGUE: dict[str, IssueType] = {  # this stage's codes: phone numbers are read by code
    value.code: value for value in globals().values() if isinstance(value, IssueType)
}
