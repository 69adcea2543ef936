"""Request bodies of the API, read strictly."""
from flask import request

from .. import strict_json
from ..services.errors import ServiceError


def json_object(what: str) -> dict:
    """The body as a JSON object, read strictly (classroom/strict_json.py); a refusal says what is wrong."""
    if not request.is_json:
        raise ServiceError(what)
    try:
        body = strict_json.loads(request.get_data(cache=True))
    except strict_json.JSONRefused as exc:
        if exc.field:
            raise ServiceError(f"The field {exc.field} {exc.message}.", field=exc.field)
        raise ServiceError(f"The JSON body {exc.message}. {what}")
    if not isinstance(body, dict):
        raise ServiceError(what)
    return body
