class ServiceError(Exception):
    """A business rule refused the change; the message is Chinese and safe to show."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message
