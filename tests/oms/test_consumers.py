import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from hub.asgi import application
from hub.kernel.outbox import outbox_relay
from oms.consumers import CLOSE_FORBIDDEN, InboxConsumer
from oms.services.stock import stock_receive

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest_asyncio.fixture(autouse=True)
async def close_worker_thread_connections():
    """sync_to_async runs ORM calls in a worker thread; close its connection afterwards
    so the test database can be dropped."""
    yield
    await sync_to_async(connections.close_all)()


async def test_staff_see_committed_stock_changes_live(jingan_staff, tee, store_jingan) -> None:
    communicator = WebsocketCommunicator(InboxConsumer.as_asgi(), "/ws/oms/inbox/")
    communicator.scope["user"] = jingan_staff
    connected, _ = await communicator.connect()
    assert connected
    await sync_to_async(stock_receive)(variant=tee, location=store_jingan, quantity=3)
    await sync_to_async(outbox_relay)()
    event = await communicator.receive_json_from(timeout=5)
    assert event == {"type": "stock.changed", "variant_id": tee.pk, "location_id": store_jingan.pk}
    await communicator.disconnect()


async def test_shoppers_are_turned_away(shopper) -> None:
    communicator = WebsocketCommunicator(InboxConsumer.as_asgi(), "/ws/oms/inbox/")
    communicator.scope["user"] = shopper
    connected, code = await communicator.connect()
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_the_route_is_mounted_in_the_asgi_application() -> None:
    communicator = WebsocketCommunicator(
        application,
        "/ws/oms/inbox/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
    )
    connected, code = await communicator.connect()
    assert (connected, code) == (False, CLOSE_FORBIDDEN)  # anonymous: refused by the consumer
