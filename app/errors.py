"""The one error type the API turns into ``{"error": {...}}`` JSON."""


class ApiError(Exception):
    """A request we refuse: HTTP status, machine code, human message, field."""

    def __init__(self, status, code, message, field=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def to_dict(self):
        return {'error': {'code': self.code, 'message': self.message,
                          'field': self.field}}


def invalid(field, message):
    return ApiError(400, 'invalid_field', message, field)
