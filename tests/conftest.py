import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("ACCR_DATA_DIR", str(ROOT / "var" / "test"))

# Hypothesis tests here check rules, not speed: on a loaded 2-core CI machine the first
# draws can be slow while other suites start, and that must not fail a correct rule.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("accr", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("accr")
