from django.urls import path

from oms.api import views

urlpatterns = [
    path("products/", views.ProductList.as_view(), name="product-list"),
    path("products/<slug:slug>/", views.ProductDetail.as_view(), name="product-detail"),
    path("locations/", views.LocationList.as_view(), name="location-list"),
    path("locations/<slug:code>/pick-list/", views.PickList.as_view(), name="pick-list"),
    path(
        "sales-channels/<slug:code>/availability/",
        views.Availability.as_view(),
        name="availability",
    ),
    path("stock/", views.StockLevelList.as_view(), name="stock-list"),
    path("stock/movements/", views.StockMovementList.as_view(), name="stock-movements"),
    path("stock/receive/", views.StockReceive.as_view(), name="stock-receive"),
    path("stock/adjust/", views.StockAdjust.as_view(), name="stock-adjust"),
    path("holds/", views.HoldCreate.as_view(), name="hold-create"),
    path("holds/<str:token>/", views.HoldDetail.as_view(), name="hold-detail"),
    path("orders/", views.OrderListCreate.as_view(), name="order-list"),
    path("orders/<str:number>/", views.OrderDetail.as_view(), name="order-detail"),
    path("orders/<str:number>/mark-paid/", views.OrderMarkPaid.as_view(), name="order-mark-paid"),
    path("orders/<str:number>/cancel/", views.OrderCancel.as_view(), name="order-cancel"),
    path("fulfilments/<int:pk>/pickup-qr.png", views.PickupQr.as_view(), name="pickup-qr"),
    path(
        "fulfilments/<int:pk>/<slug:step>/", views.FulfilmentStep.as_view(), name="fulfilment-step"
    ),
    path("returns/", views.ReturnCreate.as_view(), name="return-create"),
    path("returns/<str:rma>/receive/", views.ReturnReceive.as_view(), name="return-receive"),
    path("returns/<str:rma>/inspect/", views.ReturnInspect.as_view(), name="return-inspect"),
    path("audit/verify/", views.AuditVerify.as_view(), name="audit-verify"),
]
