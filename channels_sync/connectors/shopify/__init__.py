"""Shopify: HMAC webhooks, Admin REST for orders/fulfilments, GraphQL for inventory."""
