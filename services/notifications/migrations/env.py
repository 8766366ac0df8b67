from services.notifications.models import Base
from shared.migrate import run_env

run_env("notifications", Base.metadata)
