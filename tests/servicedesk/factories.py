"""factory_boy factories that build service-desk objects through the actions (never direct writes)."""

from __future__ import annotations

from typing import Any

import factory

from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_end_user,
    do_create_field_definition,
    do_create_site,
    do_upsert_asset,
)
from rmmbridge.servicedesk.models import Asset, AssetGroup, AssetType, Customer, EndUser, FieldDefinition, Site

ACTOR = Actor.system("tests")


class ActionFactory(factory.Factory):
    """Base: subclasses implement `_create` with an action."""

    class Meta:
        abstract = True


class CustomerFactory(ActionFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n:03d}")

    @classmethod
    def _create(cls, model_class: type[Customer], name: str, **kwargs: Any) -> Customer:
        return do_create_customer(ACTOR, name, **kwargs)


class SiteFactory(ActionFactory):
    class Meta:
        model = Site

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Branch {n:03d}")

    @classmethod
    def _create(cls, model_class: type[Site], customer: Customer, name: str, **kwargs: Any) -> Site:
        return do_create_site(ACTOR, customer, name, **kwargs)


class EndUserFactory(ActionFactory):
    class Meta:
        model = EndUser

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Person {n:03d}")
    email = factory.Sequence(lambda n: f"person{n}@example.com")

    @classmethod
    def _create(cls, model_class: type[EndUser], site: Site, name: str, **kwargs: Any) -> EndUser:
        return do_create_end_user(ACTOR, site, name, **kwargs)


class AssetGroupFactory(ActionFactory):
    class Meta:
        model = AssetGroup

    name = factory.Sequence(lambda n: f"Group {n:03d}")

    @classmethod
    def _create(cls, model_class: type[AssetGroup], name: str) -> AssetGroup:
        return do_create_asset_group(ACTOR, name)


class AssetTypeFactory(ActionFactory):
    class Meta:
        model = AssetType

    name = factory.Sequence(lambda n: f"Type {n:03d}")
    group = factory.SubFactory(AssetGroupFactory)

    @classmethod
    def _create(cls, model_class: type[AssetType], name: str, group: AssetGroup) -> AssetType:
        return do_create_asset_type(ACTOR, name, group)


class FieldDefinitionFactory(ActionFactory):
    class Meta:
        model = FieldDefinition

    name = factory.Sequence(lambda n: f"field_{n:03d}")

    @classmethod
    def _create(cls, model_class: type[FieldDefinition], name: str, **kwargs: Any) -> FieldDefinition:
        return do_create_field_definition(ACTOR, name, **kwargs)


class AssetFactory(ActionFactory):
    class Meta:
        model = Asset

    asset_type = factory.SubFactory(AssetTypeFactory)
    site = factory.LazyFunction(lambda: CustomerFactory().main_site)
    name = factory.Sequence(lambda n: f"HOST-{n:05d}")
    asset_tag = factory.Sequence(lambda n: f"AT-{n:05d}")

    @classmethod
    def _create(cls, model_class: type[Asset], **kwargs: Any) -> Asset:
        asset, _ = do_upsert_asset(ACTOR, AssetInput(**kwargs))
        return asset
