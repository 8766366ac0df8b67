from services.registration.models import Base
from shared.migrate import run_env

run_env("registration", Base.metadata)
