from django.contrib import admin

from members.models import BlocklistEntry, Coupon, MemberProfile, RiskAssessment, Tier


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name_en", "threshold_amount", "discount_bp", "points_multiplier_pct"]


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "kind", "value", "min_spend", "live_room", "valid_until", "is_active"]
    search_fields = ["code"]


@admin.register(MemberProfile)
class MemberProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "phone", "tier", "birthday"]
    search_fields = ["phone", "user__username"]


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["kind", "value", "reason", "created_at"]


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["order", "status", "reasons", "created_at"]
    list_filter = ["status"]
