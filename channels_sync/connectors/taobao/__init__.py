"""Taobao/Tmall Open Platform (TOP): signed ``/router/rest`` calls; orders are pulled."""
