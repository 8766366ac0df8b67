"""The vocabularies of registration: visitor kinds, regions, unit categories, personnel region types
and the ID documents each accepts, exhibition areas."""
from __future__ import annotations






VISITOR_KINDS = ("unit", "individual")


REGIONS = ("mainland", "hk_macao_taiwan", "overseas")


DOMESTIC_CATEGORIES = ("enterprise", "government", "public_institution", "social_organisation")


OVERSEAS_CATEGORIES = ("enterprise", "government", "social_organisation", "other")


REGION_TYPES = ("mainland", "hk_macao", "taiwan", "foreign", "overseas_chinese")


ID_TYPES = {  # region type -> accepted ID document types
    "mainland": ("resident_id",),
    "hk_macao": ("hk_macao_permit",),
    "taiwan": ("taiwan_permit",),
    "foreign": ("passport",),
    "overseas_chinese": ("passport",),
}


EXHIBITION_AREAS = ("food_agriculture", "automobile", "technical_equipment", "consumer_goods",
                    "medical_healthcare", "trade_in_services", "innovation_incubation")
