from django.urls import path

from checkout.api import views

app_name = "checkout"

urlpatterns = [
    path("cart/", views.CartView.as_view(), name="cart"),
    path("cart/merge/", views.CartMergeView.as_view(), name="cart-merge"),
    path("cart/pickup-stores/", views.PickupStoresView.as_view(), name="pickup-stores"),
    path("addresses/", views.AddressListView.as_view(), name="addresses"),
    path("checkout/quote/", views.QuoteView.as_view(), name="quote"),
    path("checkout/cart/", views.CheckoutCartView.as_view(), name="checkout-cart"),
    path("checkout/hold/", views.CheckoutHoldView.as_view(), name="checkout-hold"),
]
