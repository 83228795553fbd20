"""Web push (RFC 8030 + VAPID RFC 8292 + aes128gcm RFC 8291) for the PWA's shoppers."""
