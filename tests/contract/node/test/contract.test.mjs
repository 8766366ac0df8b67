// The published AsyncAPI document as an outside integrator meets it: valid AsyncAPI 3.0
// (the official parser), the JSON and YAML renderings one document, every example valid
// against its own message schema, and the police contract readable from it alone.
// Run with: node --test tests/contract/node/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import {
  FAILED, PASSED, REQUEST, answerEnvelope, messageValidator, policeContract,
} from '../contract.mjs';
import { AnswerMemory, decide, refusal, userOf } from '../police_client.mjs';

const DOCS = new URL('../../../../docs/events/', import.meta.url);
const jsonText = readFileSync(new URL('asyncapi.json', DOCS), 'utf8');
const yamlText = readFileSync(new URL('asyncapi.yaml', DOCS), 'utf8');
const document = JSON.parse(jsonText);
const contract = policeContract(document);
const example = (key) => structuredClone(document.components.messages[key].examples[0].payload);

test('the document is valid AsyncAPI 3.0 without errors or warnings, in JSON and in YAML', async () => {
  const parser = new Parser();
  const parsed = [];
  for (const text of [jsonText, yamlText]) {
    const { document: doc, diagnostics } = await parser.parse(text);
    const problems = diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} ${d.message} ${d.path.join('.')}`);
    assert.deepEqual(problems, []);
    assert.ok(doc);
    assert.equal(doc.version(), '3.0.0');
    parsed.push(doc.json());
  }
  assert.deepEqual(parsed[0], parsed[1]);
  assert.equal(parsed[0].operations.sendBackgroundCheckRequested.action, 'send');
});

test('the parser refuses a document that breaks the specification', async () => {
  const broken = structuredClone(document);
  delete broken.operations.sendBackgroundCheckRequested.action;
  const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
  assert.ok(diagnostics.some((d) => d.severity === 0 && d.path.includes('sendBackgroundCheckRequested')));
});

test('every message example satisfies its own schema', () => {
  const keys = Object.keys(document.components.messages);
  assert.ok(keys.length >= 30);
  for (const key of keys) {
    const validate = messageValidator(document, key);
    for (const { payload } of document.components.messages[key].examples) {
      assert.ok(validate(payload), `${key}: ${JSON.stringify(validate.errors)}`);
    }
  }
});

test('the police contract is found in the document alone', () => {
  assert.equal(contract.queue, 'police.background-check-requests');
  assert.equal(contract.answerExchange, 'police.events');
  assert.deepEqual([...contract.answerRoutingKeys].sort(), [FAILED, PASSED]);
  assert.equal(contract.request.key, `${REQUEST}.v1`);
  assert.equal(contract.requesterUser, 'accr-credentials');
  assert.equal(contract.ownUserDefault, 'police');
  assert.equal(contract.answers.passed.producer, 'police');
  const security = document.components.securitySchemes.policeUser;
  assert.equal(security.type, 'userPassword');
  assert.match('police.background-check-requests', new RegExp(security['x-permissions'].read));
  assert.doesNotMatch('police.requests', new RegExp(security['x-permissions'].read));
  assert.equal(security['x-permissions'].configure, '^$');
});

test('a request is refused when it breaks the schema or another user published it', () => {
  const validate = messageValidator(document, contract.request.key);
  const good = example(contract.request.key);
  const delivered = (userId) => ({ properties: { userId } });
  assert.equal(refusal(delivered('accr-credentials'), good, validate, 'accr-credentials'), null);
  assert.match(refusal(delivered('accr-billing'), good, validate, 'accr-credentials'), /not the requester/);
  assert.match(refusal(delivered(undefined), good, validate, 'accr-credentials'), /not the requester/);
  const missing = example(contract.request.key);
  delete missing.payload.id_number;
  assert.match(refusal(delivered('accr-credentials'), missing, validate, 'accr-credentials'), /id_number/);
  const wrongType = { ...example(contract.request.key), type: PASSED };
  assert.match(refusal(delivered('accr-credentials'), wrongType, validate, 'accr-credentials'), /type/);
  assert.match(refusal(delivered('accr-credentials'), null, validate, 'accr-credentials'), /not a valid request/);
});

test('an older client reads a newer request: unknown fields are ignored, not refused', () => {
  const validate = messageValidator(document, contract.request.key);
  const newer = example(contract.request.key);
  newer.payload.passport_expiry = '2030-01-01'; // a field added in a later minor release
  newer.trace = { hop: 2 }; // and one on the envelope
  assert.ok(validate(newer), JSON.stringify(validate.errors));
});

test('answers built from the document satisfy the document', () => {
  const request = example(contract.request.key);
  for (const [outcome, reason] of [['passed', null], ['failed', 'BLOCKLISTED']]) {
    const answer = answerEnvelope(contract.answers[outcome], request, reason);
    const validate = messageValidator(document, contract.answers[outcome].key);
    assert.ok(validate(answer), JSON.stringify(validate.errors));
    assert.equal(answer.payload.check_id, request.payload.check_id);
    assert.equal(answer.correlation_id, request.correlation_id);
  }
  assert.deepEqual(decide(request, new Set([request.payload.id_number])), ['failed', 'BLOCKLISTED']);
  assert.deepEqual(decide(request, new Set()), ['passed', null]);
  assert.equal(userOf('amqp://accr-x-police:secret@127.0.0.1:5672/accr'), 'accr-x-police');
});

test('a check asked again is answered with the same envelope, and the memory stays bounded', () => {
  const memory = new AnswerMemory(2);
  const first = answerEnvelope(contract.answers.passed, example(contract.request.key));
  memory.remember('c1', first);
  memory.remember('c2', { id: 'two' });
  assert.equal(memory.get('c1'), first);
  memory.remember('c3', { id: 'three' }); // over the limit: the oldest remembered, c1, goes
  assert.equal(memory.get('c1'), undefined);
  assert.equal(memory.get('c3').id, 'three');
});
