"""The one shape of every error the API sends:
``{"error": {"code", "message", "field"}}`` with an HTTP status."""


def error(status, code, message, field=None, headers=None):
    """A route's return value for an error: (body, status, headers)."""
    return ({'error': {'code': code, 'message': message, 'field': field}},
            status, headers or {})


class ApiError(Exception):
    """A request we refuse: HTTP status, machine code, human message, field."""

    def __init__(self, status, code, message, field=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def response(self):
        return error(self.status, self.code, self.message, self.field)


def invalid(field, message):
    return ApiError(400, 'invalid_field', message, field)


def low_memory():
    """503 with Retry-After: the board had no memory for this request (the
    timers and bindings run on; a retry usually finds some)."""
    return error(503, 'low_memory', 'the board ran out of memory for this '
                 'request; retry', None, {'Retry-After': '1'})

