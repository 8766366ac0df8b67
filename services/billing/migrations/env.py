from services.billing.models import Base
from shared.migrate import run_env

run_env("billing", Base.metadata)
