"""What a used return label costs, before tax, by shipping service (charged at drop-off)."""

from decimal import Decimal

from returns.models import ShippingService

LABEL_PRICES = {
    ShippingService.REGULAR_PARCEL: Decimal("9.25"),
    ShippingService.EXPEDITED_PARCEL: Decimal("12.50"),
    ShippingService.XPRESSPOST: Decimal("17.75"),
    ShippingService.PRIORITY: Decimal("29.50"),
}


def label_price(service: str) -> Decimal:
    return LABEL_PRICES[ShippingService(service)]
