// What the police integration needs to know, read from the platform's AsyncAPI document
// only: the queue to consume, the request's and the answers' message schemas, the exchange
// and routing keys of the answers, and the broker user that genuine requests come from.
// Nothing here knows the platform's code.
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

export const REQUEST = 'BackgroundCheckRequested';
export const PASSED = 'BackgroundCheckPassed';
export const FAILED = 'BackgroundCheckFailed';
const DOCUMENT_ID = 'urn:accr:asyncapi';

/** The document from a file path or an http(s) URL (the gateway serves it). */
export async function loadDocument(location) {
  if (/^https?:\/\//.test(location)) {
    const response = await fetch(location, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET ${location}: ${response.status}`);
    return response.json();
  }
  return JSON.parse(await readFile(location, 'utf8'));
}

function resolve(document, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local references are expected, not ${ref}`);
  return ref.slice(2).split('/').reduce((node, key) => node[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
}

const deref = (document, node) => (node && node.$ref ? resolve(document, node.$ref) : node);

/** The latest version of a message by name: [key, message] from components.messages. */
function latestMessage(document, name) {
  const found = Object.entries(document.components.messages)
    .filter(([, message]) => message.name === name && !message['x-deprecated'])
    .sort(([, a], [, b]) => b['x-version'] - a['x-version']);
  if (found.length === 0) throw new Error(`the document has no message ${name}`);
  return found[0];
}

function channelsCarrying(document, messageKey) {
  return Object.entries(document.channels).filter(([, channel]) =>
    Object.values(channel.messages || {}).some((m) => m.$ref === `#/components/messages/${messageKey}`));
}

/** Everything the police client needs, found in the document. */
export function policeContract(document) {
  const [requestKey, request] = latestMessage(document, REQUEST);
  const [passedKey, passed] = latestMessage(document, PASSED);
  const [failedKey, failed] = latestMessage(document, FAILED);
  const queueChannel = channelsCarrying(document, requestKey)
    .map(([, channel]) => channel).find((channel) => channel.bindings?.amqp?.is === 'queue');
  if (!queueChannel) throw new Error(`no queue carries ${requestKey}`);
  const sendRequest = Object.values(document.operations).find((operation) =>
    operation.action === 'send' && operation.messages.some((m) => m.$ref.endsWith(`/messages/${requestKey}`)));
  if (!sendRequest?.reply) throw new Error(`no operation sends ${requestKey} and expects a reply`);
  const replyChannel = deref(document, sendRequest.reply.channel);
  const exchange = replyChannel.bindings.amqp.exchange;
  const answerOperations = Object.values(document.operations).filter((operation) =>
    operation.action === 'receive' && deref(document, operation.channel) === replyChannel);
  const answerUser = answerOperations.map((operation) => operation.bindings?.amqp?.userId).find(Boolean);
  return {
    queue: queueChannel.bindings.amqp.queue.name,
    vhost: queueChannel.bindings.amqp.queue.vhost,
    request: { key: requestKey, version: request['x-version'], producer: request['x-producer'] },
    answers: {
      passed: { key: passedKey, type: passed.name, version: passed['x-version'], producer: passed['x-producer'] },
      failed: { key: failedKey, type: failed.name, version: failed['x-version'], producer: failed['x-producer'] },
    },
    answerExchange: exchange.name,
    // the routing key of an answer is its type (the channel's eventType parameter)
    answerRoutingKeys: replyChannel.parameters.eventType.enum,
    requesterUser: sendRequest.bindings?.amqp?.userId,
    ownUserDefault: answerUser,
  };
}

/** An Ajv validator for a message's whole body (envelope and payload), by message key. */
export function messageValidator(document, messageKey) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
  return ajv.compile({ $ref: `${DOCUMENT_ID}#/components/messages/${messageKey.replace(/\//g, '~1')}/payload` });
}

export function describeErrors(validate) {
  return (validate.errors || []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
}

/** The answer's envelope; `reasonCode` only for a failed check. */
export function answerEnvelope(answer, request, reasonCode = null) {
  const payload = { check_id: request.payload.check_id, person_id: request.payload.person_id };
  if (answer.type === FAILED) payload.reason_code = reasonCode;
  return {
    id: randomUUID().replace(/-/g, ''),
    type: answer.type,
    version: answer.version,
    occurred_at: new Date().toISOString(),
    producer: answer.producer,
    correlation_id: request.correlation_id ?? null,
    payload,
  };
}
