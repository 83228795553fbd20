"""Search API: product search with facets, and suggestions as you type."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from search.query import MAX_PAGE_SIZE, MAX_QUERY_CHARS, MAX_SUGGEST, SORTS, SearchQuery
from search.selectors import search_products, search_suggest


class ProductSearchApi(APIView):
    permission_classes = [AllowAny]

    class ProductSearchIn(serializers.Serializer[Any]):
        q = serializers.CharField(required=False, allow_blank=True, max_length=MAX_QUERY_CHARS)
        category = serializers.CharField(required=False, max_length=64)
        price_min = serializers.IntegerField(required=False, min_value=0)
        price_max = serializers.IntegerField(required=False, min_value=1)
        in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
        sort = serializers.ChoiceField(choices=SORTS, required=False, default="relevance")
        page = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=1)
        size = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=20
        )

    @extend_schema(parameters=[ProductSearchIn], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        params = self.ProductSearchIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = search_products(
            SearchQuery(
                text=data.get("q", ""),
                category=data.get("category") or None,
                price_min=data.get("price_min"),
                price_max=data.get("price_max"),
                in_stock=data.get("in_stock"),
                sort=data["sort"],
                page=data["page"],
                size=data["size"],
            )
        )
        return Response(
            {
                "total": result.total,
                "corrected": result.corrected,
                "hits": [asdict(h) for h in result.hits],
                "facets": {
                    name: [asdict(b) for b in buckets] for name, buckets in result.facets.items()
                },
            }
        )


class SuggestApi(APIView):
    permission_classes = [AllowAny]

    class SuggestIn(serializers.Serializer[Any]):
        q = serializers.CharField(max_length=50, trim_whitespace=False)
        size = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_SUGGEST, default=8
        )

    @extend_schema(parameters=[SuggestIn], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        params = self.SuggestIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = search_suggest(
            prefix=params.validated_data["q"], size=params.validated_data["size"]
        )
        return Response({"suggestions": [asdict(s) for s in found]})
