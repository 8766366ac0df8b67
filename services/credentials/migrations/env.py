from services.credentials.models import Base
from shared.migrate import run_env

run_env("credentials", Base.metadata)
