from services.review.models import Base
from shared.migrate import run_env

run_env("review", Base.metadata)
