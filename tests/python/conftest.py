import os

import pytest

# scripts/test installs the module built from this tree (`pip install .`)
# before running pytest; for development, put <build>/python on PYTHONPATH.
def pytest_report_header(config):
    import cdpcore
    return f"cdpcore {cdpcore.__version__} from {os.path.dirname(cdpcore.__file__)}"
