"""Domain errors: each carries the sentence a person is shown, and the facts behind it."""

from __future__ import annotations


class LicensingError(Exception):
    """Base of every error the service raises on purpose. ``str(error)`` is fit to show a person."""

    field: str | None = None  # which input it is about, for modal field errors

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field

    def __str__(self) -> str:
        return self.message


class InvalidInput(LicensingError):
    pass


class UnknownApp(LicensingError):
    def __init__(self, query: str, candidates: list[str]) -> None:
        self.query = query
        self.candidates = candidates
        message = f'No app is called "{query}".'
        if candidates:
            message += " Did you mean: " + ", ".join(candidates) + "?"
        super().__init__(message, field="app")


class AmbiguousApp(LicensingError):
    def __init__(self, query: str, candidates: list[str]) -> None:
        self.query = query
        self.candidates = candidates
        super().__init__(f'"{query}" matches several apps: ' + ", ".join(candidates) + ". Which one?", field="app")


class NotEnoughLicenses(LicensingError):
    def __init__(self, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        super().__init__(f"Not enough licenses: {needed} needed, {available} available")


class SeatsBelowAssigned(LicensingError):
    def __init__(self, requested: int, assigned: int) -> None:
        self.requested = requested
        self.assigned = assigned
        self.to_unassign = assigned - requested
        super().__init__(
            f"{assigned} licenses are assigned: unassign {self.to_unassign} first to go down to {requested}.",
            field="total",
        )


class ProviderPurchase(LicensingError):
    """Seats of an app bought from a vendor or reseller change only through them."""

    def __init__(self, app: str, contact: str) -> None:
        self.app = app
        self.contact = contact
        super().__init__(
            f"{app} was bought through its provider: contact {contact or 'the provider'} to change its licenses."
        )


class PermissionDenied(LicensingError):
    def __init__(self, action: str, needed: str) -> None:
        self.action = action
        self.needed = needed
        super().__init__(f"You need to be {needed} to {action}.")


class NotAssigned(LicensingError):
    pass


class RequestAlreadyDecided(LicensingError):
    def __init__(self, status: str, by: str | None) -> None:
        self.status = status
        self.by = by
        who = f" by <@{by}>" if by and by != "cli" else (" by the operator" if by == "cli" else "")
        if status == "expired":
            super().__init__("This request has expired: nobody decided it in time.")
        else:
            super().__init__(f"This request was already {status}{who}.")
