"""A nameko service for the RPC client's tests (run by `nameko run`): it answers, fails,
or takes its time."""
import time

from nameko.rpc import rpc


class EchoService:
    name = "rpc_echo"

    @rpc
    def echo(self, **kwargs):
        return kwargs

    @rpc
    def fail(self):
        raise ValueError("refused on purpose")

    @rpc
    def slow(self, seconds, tag):
        time.sleep(seconds)  # green under nameko run
        return tag
