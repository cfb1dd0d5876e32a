"""Confluent's own Python client (confluent-kafka SchemaRegistryClient and the Avro/JSON
serializers) against a running Eventschema registry, unchanged and with no workaround.

Usage: python confluent_kafka_client.py http://127.0.0.1:PORT
"""
import json
import sys
import uuid

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

CHECKS = []
URL = ""


def check(name):
    def wrap(fn):
        CHECKS.append((name, fn))
        return fn
    return wrap


def expect_error(status, call, code=None):
    try:
        call()
    except SchemaRegistryError as err:
        assert err.http_status_code == status, f"expected HTTP {status}, got {err}"
        if code is not None:
            assert err.error_code == code, f"expected error_code {code}, got {err}"
        return err
    raise AssertionError(f"expected HTTP {status}, call succeeded")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}-value"


V1 = {"type": "record", "name": "Order", "namespace": "shop",
      "fields": [{"name": "id", "type": "string"}]}
V2 = {**V1, "fields": V1["fields"] + [{"name": "qty", "type": "int", "default": 1}]}
BAD = {**V1, "fields": V1["fields"] + [{"name": "sku", "type": "string"}]}


@check("avro register, lookup, versions, compatibility, serde, delete")
def avro_flow(sr):
    subj = unique("orders")
    id1 = sr.register_schema(subj, Schema(json.dumps(V1), "AVRO"))
    assert sr.register_schema(subj, Schema(json.dumps(V1), "AVRO")) == id1
    fetched = sr.get_schema(id1)
    assert fetched.schema_type == "AVRO"
    assert json.loads(fetched.schema_str) == V1
    sr.set_compatibility(subj, "BACKWARD")
    assert sr.get_compatibility(subj) == "BACKWARD"
    assert sr.test_compatibility(subj, Schema(json.dumps(V2), "AVRO")) is True
    assert sr.test_compatibility(subj, Schema(json.dumps(BAD), "AVRO")) is False
    expect_error(409, lambda: sr.register_schema(subj, Schema(json.dumps(BAD), "AVRO")))
    id2 = sr.register_schema(subj, Schema(json.dumps(V2), "AVRO"))
    assert id2 != id1
    latest = sr.get_latest_version(subj)
    assert latest.schema_id == id2 and latest.version == 2, latest
    assert sr.get_versions(subj) == [1, 2]
    assert sr.get_version(subj, 1).schema_id == id1
    found = sr.lookup_schema(subj, Schema(json.dumps(V1), "AVRO"))
    assert found.version == 1 and found.schema_id == id1
    assert subj in sr.get_subjects()

    ser = AvroSerializer(sr, json.dumps(V2), conf={"auto.register.schemas": False, "use.latest.version": True})
    de = AvroDeserializer(sr)
    ctx = SerializationContext(subj[: -len("-value")], MessageField.VALUE)
    buf = ser({"id": "o-1", "qty": 3}, ctx)
    assert buf[0] == 0 and int.from_bytes(buf[1:5], "big") == id2
    assert de(buf, ctx) == {"id": "o-1", "qty": 3}

    assert sr.delete_version(subj, 1) == 1
    assert sr.get_versions(subj) == [2]
    # Old messages stay decodable after a soft delete.
    assert json.loads(sr.get_schema(id1).schema_str) == V1
    assert sr.delete_subject(subj) == [2]
    assert sr.delete_subject(subj, permanent=True) == [1, 2]
    # A fresh client: this one caches the latest version it has seen.
    fresh = SchemaRegistryClient({"url": URL})
    expect_error(404, lambda: fresh.get_latest_version(subj), 40401)
    expect_error(404, lambda: fresh.get_versions(subj), 40401)


@check("same schema under two subjects shares one id")
def shared_ids(sr):
    a, b = unique("a"), unique("b")
    schema = Schema(json.dumps({"type": "record", "name": "Shared", "fields": []}), "AVRO")
    ida = sr.register_schema(a, schema)
    idb = sr.register_schema(b, schema)
    assert ida == idb
    assert set(sr.get_subjects_by_schema_id(ida)) >= {a, b}
    versions = sr.get_schema_versions(ida)
    pairs = {(v.subject, v.version) for v in versions}
    assert {(a, 1), (b, 1)} <= pairs, pairs


@check("json schema register, serde, compatibility")
def json_flow(sr):
    subj = unique("payments")
    schema = {"type": "object", "title": "Payment",
              "properties": {"id": {"type": "string"}, "amount": {"type": "number"}},
              "required": ["id"], "additionalProperties": False}
    sid = sr.register_schema(subj, Schema(json.dumps(schema), "JSON"))
    fetched = sr.get_schema(sid)
    assert fetched.schema_type == "JSON"
    assert json.loads(fetched.schema_str) == schema
    narrowed = {**schema, "required": ["id", "amount"]}
    assert sr.test_compatibility(subj, Schema(json.dumps(narrowed), "JSON")) is False
    extended = {**schema, "properties": {**schema["properties"], "note": {"type": "string"}}}
    assert sr.test_compatibility(subj, Schema(json.dumps(extended), "JSON")) is True

    ser = JSONSerializer(json.dumps(schema), sr, conf={"auto.register.schemas": False, "use.latest.version": True})
    de = JSONDeserializer(None, schema_registry_client=sr)
    ctx = SerializationContext(subj[: -len("-value")], MessageField.VALUE)
    buf = ser({"id": "p-1", "amount": 9.5}, ctx)
    assert int.from_bytes(buf[1:5], "big") == sid
    assert de(buf, ctx) == {"id": "p-1", "amount": 9.5}


@check("references")
def references(sr):
    address_subject = unique("address")
    address = {"type": "record", "name": "Address", "namespace": "shop",
               "fields": [{"name": "street", "type": "string"}]}
    sr.register_schema(address_subject, Schema(json.dumps(address), "AVRO"))
    customer = {"type": "record", "name": "Customer", "namespace": "shop",
                "fields": [{"name": "address", "type": "shop.Address"}]}
    refs = [SchemaReference("shop.Address", address_subject, 1)]
    subj = unique("customer")
    cid = sr.register_schema(subj, Schema(json.dumps(customer), "AVRO", refs))
    got = sr.get_schema(cid)
    assert [(r.name, r.subject, r.version) for r in got.references] == [("shop.Address", address_subject, 1)]
    expect_error(422, lambda: sr.delete_version(address_subject, 1), 42206)


@check("config and mode, global and per subject")
def config_and_mode(sr):
    subj = unique("cfg")
    sr.register_schema(subj, Schema(json.dumps(V1), "AVRO"))
    assert sr.get_compatibility() == "BACKWARD"
    expect_error(404, lambda: sr.get_compatibility(subj), 40408)
    sr.set_compatibility(subj, "FULL_TRANSITIVE")
    assert sr.get_compatibility(subj) == "FULL_TRANSITIVE"
    assert sr.get_config(subj).compatibility_level.value == "FULL_TRANSITIVE"
    expect_error(422, lambda: sr.set_compatibility(subj, "SIDEWAYS"), 42203)
    previous = sr.delete_config(subj)
    assert previous.compatibility_level.value == "FULL_TRANSITIVE"
    expect_error(404, lambda: sr.get_compatibility(subj), 40408)

    assert sr.get_global_mode() == "READWRITE"
    assert sr.update_mode(subj, "READONLY") == "READONLY"
    assert sr.get_mode(subj) == "READONLY"
    expect_error(422, lambda: sr.register_schema(subj, Schema(json.dumps(V2), "AVRO")), 42205)
    assert sr.delete_mode(subj) == "READONLY"
    expect_error(404, lambda: sr.get_mode(subj), 40409)
    assert sr.get_contexts() == ["."]


@check("errors the client surfaces")
def errors(sr):
    subj = unique("err")
    expect_error(422, lambda: sr.register_schema(subj, Schema('{"type": "nonsense"}', "AVRO")), 42201)
    expect_error(404, lambda: sr.get_schema(987654321), 40403)
    expect_error(404, lambda: sr.get_latest_version(unique("nobody")), 40401)
    assert "AVRO" in sr.get_schema_types() and "JSON" in sr.get_schema_types()


def main():
    global URL
    URL = sys.argv[1]
    sr = SchemaRegistryClient({"url": URL})
    passed = failed = 0
    for name, fn in CHECKS:
        try:
            fn(sr)
        except Exception as err:  # noqa: BLE001 - report every failing check
            failed += 1
            print(f"FAIL {name}: {type(err).__name__}: {err}")
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
