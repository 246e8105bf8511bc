from onboarding.errors import ServiceError
from onboarding.principal import principal_for_request


def principal(request):
    try:
        return {"principal": principal_for_request(request)}
    except ServiceError:
        return {"principal": None}
