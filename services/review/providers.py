"""Review's outside party: registration, which keeps what units and their people entered.
Review holds only a projection (status, delegation, labels); the back office's unit file,
document image, photos and personnel details are asked of registration over RabbitMQ RPC —
always after review has checked that the unit is in the admin's part of the tree."""
from __future__ import annotations

from typing import Any, Protocol

from shared.errors import Unavailable
from shared.nameko_edge import RpcClient


class RegistrationFiles(Protocol):
    def unit_file(self, unit_id: str) -> dict[str, Any] | None: ...

    def unit_document_image(self, unit_id: str) -> dict[str, Any] | None: ...

    def unit_person_photo(self, unit_id: str, person_id: str) -> str | None: ...

    def people_details(self, person_ids: list[str]) -> list[dict[str, Any]]: ...

    def find_people(self, unit_ids: list[str], query: str) -> list[dict[str, Any]]: ...


class RegistrationFilesOverRpc:
    def __init__(self, rpc: RpcClient):
        self.rpc = rpc

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return self.rpc.call("registration", method, **kwargs)
        except Exception as exc:  # a timeout or the broker
            raise Unavailable("registration_unavailable", "the unit's details could not be read just now; "
                              "try again") from exc

    def unit_file(self, unit_id: str) -> dict[str, Any] | None:
        return self._call("unit_file", unit_id=unit_id)

    def unit_document_image(self, unit_id: str) -> dict[str, Any] | None:
        return self._call("unit_document_image", unit_id=unit_id)

    def unit_person_photo(self, unit_id: str, person_id: str) -> str | None:
        return self._call("unit_person_photo", unit_id=unit_id, person_id=person_id)

    def people_details(self, person_ids: list[str]) -> list[dict[str, Any]]:
        return self._call("people_details", person_ids=person_ids) or []

    def find_people(self, unit_ids: list[str], query: str) -> list[dict[str, Any]]:
        return self._call("find_people", unit_ids=unit_ids, query=query) or []
