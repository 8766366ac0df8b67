// A police background-check client in Node, written against the platform's AsyncAPI
// document only (contract.mjs reads it): consumes BackgroundCheckRequested from the police
// queue, validates each request against the document's schema, decides (failed for the ID
// numbers in POLICE_BLOCKLIST, passed otherwise) and answers on the reply exchange with
// publisher confirms, acknowledging the request only once its answer is confirmed. A check
// asked again gets the same answer envelope (docs/police-integration.md).
//
//   ASYNCAPI=http://gateway/api/events/asyncapi.json POLICE_AMQP_URI=amqp://police:...@host/accr \
//     POLICE_REQUESTER_USER=accr-credentials POLICE_BLOCKLIST=440106... node police_client.mjs
//
// It prints one JSON line per step on stdout (ids only, never personal data).
import amqplib from 'amqplib';
import {
  answerEnvelope, describeErrors, loadDocument, messageValidator, policeContract,
} from './contract.mjs';

const say = (event, fields = {}) => process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

export function decide(request, blocklist) {
  return blocklist.has(request.payload.id_number) ? ['failed', 'BLOCKLISTED'] : ['passed', null];
}

/** The answers already given, by check: a request asked again (redelivered, or re-sent
 * because our answer never arrived) gets the same envelope, id included, so the platform
 * drops it if it has it already and the unit is told once. Bounded: the oldest go first. */
export class AnswerMemory {
  constructor(limit = 10000) { this.limit = limit; this.byCheck = new Map(); }

  get(checkId) { return this.byCheck.get(checkId); }

  remember(checkId, envelope) {
    this.byCheck.delete(checkId);
    this.byCheck.set(checkId, envelope);
    if (this.byCheck.size > this.limit) this.byCheck.delete(this.byCheck.keys().next().value);
  }
}

export function userOf(amqpUri) {
  return decodeURIComponent(new URL(amqpUri).username || 'guest');
}

/** Why a delivered request must not be answered, or null. */
export function refusal(message, body, validateRequest, requester) {
  if (message.properties.userId !== requester) {
    return `published by ${JSON.stringify(message.properties.userId)}, not the requester ${JSON.stringify(requester)}`;
  }
  if (!validateRequest(body)) return `not a valid request: ${describeErrors(validateRequest)}`;
  return null;
}

async function main() {
  const document = await loadDocument(process.env.ASYNCAPI || new URL('../../../docs/events/asyncapi.json', import.meta.url).pathname);
  const contract = policeContract(document);
  const validateRequest = messageValidator(document, contract.request.key);
  const validateAnswer = {
    passed: messageValidator(document, contract.answers.passed.key),
    failed: messageValidator(document, contract.answers.failed.key),
  };
  const uri = process.env.POLICE_AMQP_URI;
  if (!uri) throw new Error('POLICE_AMQP_URI is required');
  const ownUser = userOf(uri);
  const requester = process.env.POLICE_REQUESTER_USER || contract.requesterUser;
  const memory = new AnswerMemory();
  const blocklist = new Set((process.env.POLICE_BLOCKLIST || '').split(',').map((s) => s.trim()).filter(Boolean));

  const onRequest = (channel) => async (message) => {
    if (message === null) return; // the broker cancelled the consumer; recovery sets it up again
    let body;
    try {
      body = JSON.parse(message.content.toString('utf8'));
    } catch {
      body = null;
    }
    const why = refusal(message, body, validateRequest, requester);
    if (why !== null) { // rejected without requeue: the queue dead-letters it
      say('refused', { message_id: message.properties.messageId ?? null, reason: why.slice(0, 300) });
      channel.nack(message, false, false);
      return;
    }
    const checkId = body.payload.check_id;
    let envelope = memory.get(checkId);
    if (envelope === undefined) {
      const [outcome, reasonCode] = decide(body, blocklist);
      envelope = answerEnvelope(contract.answers[outcome], body, reasonCode);
    }
    const validate = envelope.type === contract.answers.passed.type ? validateAnswer.passed : validateAnswer.failed;
    if (!validate(envelope)) throw new Error(`our own answer breaks the contract: ${describeErrors(validate)}`);
    const exchange = body.payload.reply_to;
    if (exchange !== contract.answerExchange) {
      say('refused', { message_id: body.id, reason: `reply_to ${exchange} is not ${contract.answerExchange}` });
      channel.nack(message, false, false);
      return;
    }
    channel.publish(exchange, envelope.type, Buffer.from(JSON.stringify(envelope)), {
      contentType: 'application/json', deliveryMode: 2, messageId: envelope.id,
      correlationId: envelope.correlation_id ?? undefined, userId: ownUser,
    });
    try {
      await channel.waitForConfirms();
    } catch (error) { // not confirmed: the request goes back to the queue and is answered again
      say('unconfirmed', { check_id: body.payload.check_id, error: String(error.message || error) });
      channel.nack(message, false, true);
      return;
    }
    memory.remember(checkId, envelope);
    channel.ack(message);
    say('answered', { request_id: body.id, check_id: checkId, person_id: body.payload.person_id,
      answer: envelope.type, answer_id: envelope.id, redelivered: message.fields.redelivered });
  };

  const connection = await amqplib.connect(uri, {
    heartbeat: 30,
    recovery: {
      initialDelay: 200, maxDelay: 5000, maxRetries: Infinity,
      async setup(model) { // after every (re)connect: declare nothing, consume the provisioned queue
        const channel = await model.createConfirmChannel();
        await channel.prefetch(10);
        const handle = onRequest(channel);
        await channel.consume(contract.queue, (message) => handle(message).catch((error) => {
          say('error', { error: String(error.message || error) });
          channel.nack(message, false, false);
        }));
        say('consuming', { queue: contract.queue, user: ownUser, requester });
      },
    },
  });
  connection.on('disconnect', (error) => say('disconnected', { error: String(error?.message || error) }));
  const stop = async () => {
    try { await connection.close(); } finally { process.exit(0); }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    say('fatal', { error: String(error.stack || error) });
    process.exit(1);
  });
}
