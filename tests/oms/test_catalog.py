import pytest
from django.contrib.auth.models import User
from django.test import Client

from hub.kernel.models import OutboxMessage
from oms.models import Product
from oms.services.catalog import product_changed


@pytest.mark.django_db
def test_product_changed_is_announced_through_the_outbox(tee) -> None:
    product_changed(product=tee.product)
    assert list(
        OutboxMessage.objects.filter(topic="product.changed").values_list("payload", flat=True)
    ) == [{"product": tee.product.pk}]


@pytest.mark.django_db
def test_editing_a_product_in_the_admin_announces_it(tee) -> None:
    User.objects.create_superuser("root", "root@t.test", "root")
    client = Client()
    client.force_login(User.objects.get(username="root"))
    product = tee.product
    response = client.post(
        f"/admin/oms/product/{product.pk}/change/",
        {
            "merchant": product.merchant_id,
            "slug": product.slug,
            "name_en": "Renamed tee",
            "name_zh": "新名字",
            "description_en": "",
            "description_zh": "",
            "category": "apparel",
            "is_active": "on",
            "variants-TOTAL_FORMS": "1",
            "variants-INITIAL_FORMS": "1",
            "variants-MIN_NUM_FORMS": "0",
            "variants-MAX_NUM_FORMS": "1000",
            "variants-0-id": str(tee.pk),
            "variants-0-product": str(product.pk),
            "variants-0-sku": tee.sku,
            "variants-0-barcode": "",
            "variants-0-attributes": "{}",
            "variants-0-price_amount": "12900",
            "variants-0-currency": "CNY",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert Product.objects.get(pk=product.pk).name_en == "Renamed tee"
    assert (
        OutboxMessage.objects.filter(
            topic="product.changed", payload={"product": product.pk}
        ).count()
        == 1
    )
