"""Protocol-faithful fake servers for the platforms coopbot talks to.

Each fake is a real aiohttp server on 127.0.0.1 (port 0) answering with the
platform's own JSON, headers, status codes and events; tests point the real
client libraries at ``fake.url``.
"""
from tests.fakes.mattermost import FakeMattermost

__all__ = ["FakeMattermost"]
