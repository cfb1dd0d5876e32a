// kafkajs' Confluent Schema Registry client (@kafkajs/confluent-schema-registry) against a
// running Eventschema registry, unchanged and with no workaround.
// Usage: node client.mjs http://127.0.0.1:PORT
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import pkg from '@kafkajs/confluent-schema-registry'

const { SchemaRegistry, SchemaType } = pkg
const url = process.argv[2]
const registry = new SchemaRegistry({ host: url })
const unique = (prefix) => `${prefix}-${randomUUID().slice(0, 8)}-value`

const v1 = { type: 'record', name: 'Order', namespace: 'shop', fields: [{ name: 'id', type: 'string' }] }
const v2 = { ...v1, fields: [...v1.fields, { name: 'qty', type: 'int', default: 1 }] }
const bad = { ...v1, fields: [...v1.fields, { name: 'sku', type: 'string' }] }

const checks = [
  ['avro register (first registration sets the subject level), encode, decode', async () => {
    const subject = unique('orders')
    const { id: id1 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject })
    const { id: again } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject })
    assert.equal(again, id1)
    const { id: id2 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject })
    assert.notEqual(id2, id1)
    assert.equal(await registry.getLatestSchemaId(subject), id2)
    assert.equal(await registry.getRegistryId(subject, 1), id1)
    assert.equal(await registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(v1) }), id1)
    const encoded = await registry.encode(id2, { id: 'o-1', qty: 3 })
    assert.equal(encoded[0], 0)
    assert.equal(encoded.readInt32BE(1), id2)
    assert.deepEqual({ ...(await registry.decode(encoded)) }, { id: 'o-1', qty: 3 })
    await assert.rejects(
      registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(bad) }, { subject }),
      (err) => err.status === 409 || /incompatible/i.test(String(err.message)),
    )
  }],
  ['json schema register, encode, decode', async () => {
    const subject = unique('payments')
    const schema = { type: 'object', properties: { id: { type: 'string' }, amount: { type: 'number' } }, required: ['id'] }
    const { id } = await registry.register({ type: SchemaType.JSON, schema: JSON.stringify(schema) }, { subject })
    const encoded = await registry.encode(id, { id: 'p-1', amount: 9.5 })
    assert.deepEqual(await registry.decode(encoded), { id: 'p-1', amount: 9.5 })
  }],
  ['unknown ids and subjects are errors', async () => {
    await assert.rejects(registry.getSchema(987654321))
    await assert.rejects(registry.getLatestSchemaId(unique('nobody')))
  }],
]

let passed = 0
let failed = 0
for (const [name, check] of checks) {
  try {
    await check()
    passed += 1
    console.log(`ok   ${name}`)
  } catch (err) {
    failed += 1
    console.log(`FAIL ${name}: ${err?.stack ?? err}`)
  }
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
