"""Root conftest: eventlet is patched before anything else imports a socket.

nameko's pytest plugin only warns when the process is not patched; in-process containers (integration
tests) need green sockets and threads, so the patch happens here, first.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

pytest_plugins = ["kit.testing"]
