"""A key issued to a person acts as the person: the gateway signs the person's id and
name, with the key as the credential; a machine's key, issued to nobody, acts as itself."""
from __future__ import annotations

from tests.gateway.fakes import gateway


async def test_a_persons_keys_both_act_as_the_person_each_named_as_the_credential():
    async with gateway() as rig:
        keys = [rig.key("hq_admin", name=f"zhou {n}", key_id=f"key-zhou-{n}") for n in (1, 2)]
        for token in keys:
            rig.network.keys[token].update(person_id="person-zhou", person_name="周敏")
        seen = []
        for token in keys:
            response = await rig.client.get("/api/network/v1/claims", headers=rig.bearer(token))
            assert response.status_code == 200, response.text
            seen.append((response.json()["principal"], response.json()["headers"]["x-principal-credential"]))
        assert seen == [({"id": "person-zhou", "role": "hq_admin", "store_id": None, "name": "周敏"}, "key:key-zhou-1"),
                        ({"id": "person-zhou", "role": "hq_admin", "store_id": None, "name": "周敏"}, "key:key-zhou-2")]


async def test_a_machine_key_acts_as_itself():
    async with gateway() as rig:
        token = rig.key("outlet_api", "store-a", name="outlet DMS", key_id="key-dms")
        response = await rig.client.get("/api/network/v1/claims", headers=rig.bearer(token))
        echo = response.json()
        assert echo["principal"] == {"id": "key-dms", "role": "outlet_api", "store_id": "store-a", "name": "outlet DMS"}
        assert echo["headers"]["x-principal-credential"] == "key:key-dms"
