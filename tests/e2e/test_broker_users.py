"""The e2e stack runs with least privilege for real: every process logs in to RabbitMQ as
the user of its own service (or the police's), never as the vhost's administrator."""
from __future__ import annotations

import urllib.parse

import pytest

from tests.infra import rabbitmqctl_lines


def test_every_process_logs_in_to_the_broker_as_a_user_of_its_own(stack):
    if not stack.amqp_uris:
        pytest.skip("rabbitmqctl is not usable here: the stack shares one broker user")
    admin = urllib.parse.urlsplit(stack.env["AMQP_URI"])
    vhost = urllib.parse.unquote(admin.path[1:])
    own = {role: urllib.parse.unquote(urllib.parse.urlsplit(uri).username or "") for role, uri in stack.amqp_uris.items()}
    assert sorted(own) == ["billing", "credentials", "notifications", "police", "registration", "review"]
    connected = [line.split("\t") for line in rabbitmqctl_lines("list_connections", "user", "vhost")]
    users = {fields[0] for fields in connected if len(fields) == 2 and fields[1] == vhost}
    assert users == set(own.values())  # the test process itself holds no connection now
