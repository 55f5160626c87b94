import os
import sys

# Tests run against the module built from this tree: scripts/test puts
# <build>/python first on PYTHONPATH. Say which one was imported.
def pytest_report_header(config):
    import cdpcore
    return f"cdpcore {cdpcore.__version__} from {os.path.dirname(cdpcore.__file__)}"
