"""WooCommerce: REST API v3 (basic auth with consumer key/secret) and signed webhooks."""
