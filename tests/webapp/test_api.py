from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from oms.models import Location


def _csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    response = client.get("/api/session/")
    return client, response.cookies["csrftoken"].value


def test_an_anonymous_session_gets_a_csrf_cookie(db: None) -> None:
    client = Client()
    response = client.get("/api/session/")

    assert response.status_code == 200
    assert response.json() == {
        "authenticated": False,
        "username": "",
        "roles": [],
        "locations": [],
    }
    assert "csrftoken" in response.cookies


def test_staff_sign_in_and_see_their_stores(jingan_staff: User, store_pudong: Location) -> None:
    client, token = _csrf_client()

    response = client.post(
        "/api/session/login/",
        {"username": "jingan-staff", "password": "jingan-staff"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200
    assert response.json() == {
        "authenticated": True,
        "username": "jingan-staff",
        "roles": ["store_staff"],
        "locations": [{"code": "jingan", "name_en": "Jingan", "name_zh": "jingan"}],
    }
    assert client.get("/api/session/").json()["username"] == "jingan-staff"


def test_an_admin_sees_every_location(
    admin_user: User, warehouse: Location, store_jingan: Location
) -> None:
    client = Client()
    client.force_login(admin_user)

    body = client.get("/api/session/").json()

    assert body["roles"] == ["merchant_admin"]
    assert [loc["code"] for loc in body["locations"]] == ["kunshan-dc", "jingan"]


def test_a_wrong_password_is_a_400_and_no_session(shopper: User) -> None:
    client, token = _csrf_client()

    response = client.post(
        "/api/session/login/",
        {"username": "shopper", "password": "nope"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "bad_credentials", "message": "wrong username or password", "details": {}}
    }
    assert client.get("/api/session/").json()["authenticated"] is False


def test_missing_fields_are_a_400_naming_them(db: None) -> None:
    client, token = _csrf_client()

    response = client.post(
        "/api/session/login/", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert sorted(response.json()["error"]["details"]["fields"]) == ["password", "username"]


def test_sign_in_without_the_csrf_token_is_refused(shopper: User) -> None:
    client, _ = _csrf_client()

    response = client.post(
        "/api/session/login/",
        {"username": "shopper", "password": "shopper"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.get("/api/session/").json()["authenticated"] is False


def test_sign_out_ends_the_session(shopper: User) -> None:
    client, token = _csrf_client()
    client.post(
        "/api/session/login/",
        {"username": "shopper", "password": "shopper"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    token = client.cookies["csrftoken"].value  # rotated on sign-in

    response = client.post("/api/session/logout/", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200
    assert response.json()["authenticated"] is False
    assert client.get("/api/orders/").status_code == 403
