# Run inside pretix (python -m pretix shell -c "$(cat objects.py)"), never by the product:
# the organizer, the event (live, CNY), one admission product at 300.00 with an unlimited
# quota, manual payment enabled, and a team whose API token may do everything. Prints JSON.
import datetime as dt
import json

from django.utils.timezone import now
from django_scopes import scopes_disabled

from pretix.base.models import Event, Item, Organizer, Quota, Team

with scopes_disabled():
    organizer, _ = Organizer.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    event, _ = Event.objects.get_or_create(
        organizer=organizer, slug="peak",
        defaults={"name": "Deadline peak", "currency": "CNY", "date_from": now() + dt.timedelta(days=30),
                  "live": True})
    event.live = True
    event.save()
    event.settings.set("payment_manual__enabled", True)
    event.settings.set("payment_manual_public_name", "Manual")
    item, _ = Item.objects.get_or_create(event=event, name="Visitor badge",
                                         defaults={"default_price": 300, "admission": True})
    quota, _ = Quota.objects.get_or_create(event=event, name="All", defaults={"size": None})
    quota.items.add(item)
    team, _ = Team.objects.get_or_create(
        organizer=organizer, name="Bench API",
        defaults=dict(all_events=True, all_event_permissions=True, all_organizer_permissions=True))
    token = team.tokens.create(name="bench")
    print("PRETIX_OBJECTS " + json.dumps({"organizer": organizer.slug, "event": event.slug, "item": item.pk,
                                         "token": token.token}))
