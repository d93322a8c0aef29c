/**
 * `gantry deploy`'s SNS notifications against the AWS emulator: one moto server (one account), two
 * topics, one SQS queue subscribed to both (the json topic with raw message delivery, the text topic
 * with SNS's envelope, which carries the subject). What a deploy publishes is read back from the
 * queue. The rest of the deploy is as in release.test.ts: a real ledger (PGlite), ECS at the wire
 * level (aws-sdk-client-mock), the image tags in the server's ECR, a fake apply, a local HTTP server
 * as the team's webhook.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ECSClient, type Deployment } from '@aws-sdk/client-ecs';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { NotificationsConfig } from '../../lib/config';
import { openLedger, type Ledger } from '../../lib/runtime/ledger';
import { REDACTED } from '../../lib/runtime/redaction';
import { deploy, type ApplyOutcome, type ReleaseDeps } from '../../lib/runtime/release/deploy';
import { resolveNotifications } from '../../lib/runtime/release/notify';
import { snsClientFrom } from '../../lib/runtime/release/sns';
import { envRedactor } from '../../lib/runtime/session';
import { describeWithEmulator, MotoServer } from '../emulator/harness';
import { clientConfig, EMULATOR_CREDENTIALS, pushImages } from '../emulator/seed';

const ACCOUNT = '333333333333';
const REGION = 'eu-west-1';
const topicArn = (name: string) => `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`;
const JSON_TOPIC = topicArn('acme-prod-deploys');
const TEXT_TOPIC = topicArn('acme-prod-deploys-mail');
const MISSING_TOPIC = topicArn('acme-prod-gone');
const SHA = (c: string) => c.repeat(40);
const REPOSITORY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/acme/api`;
/** Secrets of the run: a TF_VAR value and the webhook's URL (its path carries the token). */
const DB_PASSWORD = 'Tr0ub4dor-and-3-more-words';
const HOOK_TOKEN = 'T0GANTRY/B0GANTRY/hook-token-0123456789';
const FAST = { rollout: { pollIntervalMs: 1 }, migration: { pollIntervalMs: 1 }, verify: { intervalMs: 1 } };

const ecsMock = mockClient(ECSClient);

describeWithEmulator('gantry deploy: SNS notifications (moto)', () => {
  let moto: MotoServer;
  let sqs: SQSClient;
  let sns: SNSClient;
  let queueUrl: string;
  /** The digests of api's tags in the server's ECR. */
  let digests: Map<string, string>;
  let ledger: Ledger;
  let opening: Promise<Ledger> | undefined;
  let hookServer: http.Server;
  let hookUrl: string;
  const hooks: string[] = [];

  /** Every message in the queue now (moto delivers during Publish), deleted once read. */
  async function drain(): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return all;
      for (const m of messages)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      all.push(...messages);
    }
  }

  /** ECS: api runs revision `from` before the apply, then `from + 1`, rolled out. */
  function rollsOut(from: number): void {
    let looks = 0;
    const dep = (revision: number): Deployment => ({
      status: 'PRIMARY',
      taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/acme-prod-api:${revision}`,
      desiredCount: 1,
      runningCount: 1,
      failedTasks: 0,
      rolloutState: 'COMPLETED',
    });
    ecsMock.reset();
    ecsMock.on(DescribeServicesCommand).callsFake(() => ({
      services: [
        { serviceName: 'api', desiredCount: 1, deployments: [dep(looks++ === 0 ? from : from + 1)] },
      ],
    }));
  }

  /**
   * The run's environment, as `gantry deploy` reads it: the notifications of the release facts with
   * the webhook URL from its variable, the redactor of the environment (`TF_VAR_*` values, the URL).
   */
  function deployDeps(
    facts: NotificationsConfig,
    apply: () => Promise<ApplyOutcome> = async () => ({ ok: true, exitCode: 0 }),
  ) {
    const env = { TF_VAR_db_password: DB_PASSWORD, DEPLOY_HOOK_URL: hookUrl };
    const redactor = envRedactor(env);
    const notifications = resolveNotifications(facts, env, redactor);
    const deps: ReleaseDeps = {
      ledger,
      ecs: new ECSClient({ region: REGION, credentials: EMULATOR_CREDENTIALS }),
      ecr: new ECRClient(clientConfig(moto, REGION)),
      apply,
      progress: () => undefined,
      redactor,
      sns: (region) => new SNSClient(clientConfig(moto, region)),
    };
    const target = (tag: string) => ({
      environment: 'prod',
      stack: 'prod-services',
      cluster: 'acme-prod',
      services: [{ name: 'api', ecsService: 'api', imageTag: tag, repository: REPOSITORY }],
      notifications,
    });
    return { deps, target };
  }

  const bothTopics: NotificationsConfig = {
    webhooks: [{ urlEnv: 'DEPLOY_HOOK_URL' }],
    snsTopics: [{ topicArn: JSON_TOPIC }, { topicArn: TEXT_TOPIC, format: 'text' }],
  };

  beforeAll(async () => {
    // The server and the ledger start side by side.
    opening = openLedger('pglite:memory').then(async (opened) => {
      await opened.migrate();
      return opened;
    });
    moto = await MotoServer.start(ACCOUNT);
    sqs = new SQSClient(clientConfig(moto, REGION));
    sns = new SNSClient(clientConfig(moto, REGION));
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'acme-prod-deploys' }));
    queueUrl = queue.QueueUrl!;
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    for (const [name, raw] of [
      ['acme-prod-deploys', 'true'],
      ['acme-prod-deploys-mail', 'false'],
    ]) {
      const topic = await sns.send(new CreateTopicCommand({ Name: name }));
      expect(topic.TopicArn).toBe(topicArn(name));
      await sns.send(
        new SubscribeCommand({
          TopicArn: topic.TopicArn,
          Protocol: 'sqs',
          Endpoint: attributes.Attributes!.QueueArn,
          Attributes: { RawMessageDelivery: raw },
        }),
      );
    }
    const ecr = new ECRClient(clientConfig(moto, REGION));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'acme/api' })).finally(() => ecr.destroy());
    digests = await pushImages(moto, REGION, 'acme/api', ['v1', 'v2']);
    hookServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hooks.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/services/${HOOK_TOKEN}`;
    ledger = await opening;
  });

  afterAll(async () => {
    // Also when the server did not start: the ledger opened beside it.
    await (await opening?.catch(() => undefined))?.close();
    await new Promise((resolve) => hookServer?.close(resolve));
    sqs?.destroy();
    sns?.destroy();
    await moto?.stop();
  });

  test('a deploy that completes publishes the json event and the text; a topic that does not exist is recorded, the deploy still succeeds', async () => {
    rollsOut(1);
    const { deps, target } = deployDeps({
      ...bothTopics,
      snsTopics: [...bothTopics.snsTopics!, { topicArn: MISSING_TOPIC }],
    });
    const result = await deploy(
      target('v1'),
      { commitSha: SHA('1'), actor: 'octocat', automatic: true },
      deps,
      FAST,
    );
    expect(result).toMatchObject({ exitCode: 0, outcome: 'deployed' });
    expect(result.deployments.map((d) => [d.service, d.imageTag, d.digest])).toEqual([
      ['api', 'v1', digests.get('v1')],
    ]);
    expect(digests.get('v1')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.notifications.map((n) => [n.channel, n.ok])).toEqual([
      ['webhook $DEPLOY_HOOK_URL', true],
      [`sns ${JSON_TOPIC}`, true],
      [`sns ${TEXT_TOPIC}`, true],
      [`sns ${MISSING_TOPIC}`, false],
    ]);
    const run = await ledger.getRun(result.runId!);
    expect(run).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(run?.note).toMatch(new RegExp(`^notification sns ${MISSING_TOPIC} failed: NotFound`));

    const messages = await drain();
    expect(messages).toHaveLength(2);
    const raw = messages.find((m) => m.Body!.startsWith('{"kind"'))!;
    const event = JSON.parse(raw.Body!) as Record<string, unknown>;
    const line = `:white_check_mark: deployed to prod ${SHA('1').slice(0, 12)} by octocat: api v1`;
    expect(event).toMatchObject({
      kind: 'success',
      environment: 'prod',
      runId: result.runId,
      commitSha: SHA('1'),
      actor: 'octocat',
      services: [{ service: 'api', imageTag: 'v1', previousTag: null, status: 'deployed', reason: null }],
      condensed: true,
      message: line,
    });
    // The same event as the json webhook's.
    expect(JSON.parse(hooks.at(-1)!)).toEqual(event);
    // Attributes for subscription filter policies.
    expect(raw.MessageAttributes).toMatchObject({
      kind: { DataType: 'String', StringValue: 'success' },
      environment: { DataType: 'String', StringValue: 'prod' },
    });
    const envelope = JSON.parse(messages.find((m) => m !== raw)!.Body!) as Record<string, unknown>;
    expect(envelope).toMatchObject({
      Type: 'Notification',
      TopicArn: TEXT_TOPIC,
      Subject: `Gantry: deployed to prod ${SHA('1').slice(0, 12)}`,
      Message: line,
    });
  });

  test('a failed deploy publishes the failure with its reason, the TF_VAR value and the webhook URL redacted', async () => {
    rollsOut(2);
    const { deps, target } = deployDeps(bothTopics, async () => ({
      ok: false,
      exitCode: 1,
      reason: `terraform: the database refused ${DB_PASSWORD}; the hook ${hookUrl} was not called`,
    }));
    const result = await deploy(target('v2'), { commitSha: SHA('2'), automatic: true }, deps, FAST);
    expect(result).toMatchObject({ exitCode: 1, outcome: 'failed' });
    expect(result.notifications.every((n) => n.ok)).toBe(true);
    expect((await ledger.getRun(result.runId!))?.note).toBeNull();

    const messages = await drain();
    expect(messages).toHaveLength(2);
    const everything = JSON.stringify(messages) + hooks.at(-1)!;
    expect(everything).not.toContain(DB_PASSWORD);
    expect(everything).not.toContain(HOOK_TOKEN);
    const raw = messages.find((m) => m.Body!.startsWith('{"kind"'))!;
    const reason = `apply failed: terraform: the database refused ${REDACTED}; the hook ${REDACTED} was not called`;
    expect(JSON.parse(raw.Body!)).toMatchObject({
      kind: 'failure',
      environment: 'prod',
      services: [{ service: 'api', imageTag: 'v2', previousTag: 'v1', status: 'failed', reason }],
      reason,
      condensed: false,
    });
    expect(raw.MessageAttributes?.kind?.StringValue).toBe('failure');
    const envelope = JSON.parse(messages.find((m) => m !== raw)!.Body!) as Record<string, string>;
    expect(envelope.Subject).toBe(`Gantry: deploy to prod failed ${SHA('2').slice(0, 12)}`);
    expect(envelope.Message.split('\n')).toEqual([
      `:x: deploy to prod failed ${SHA('2').slice(0, 12)} (run ${result.runId})`,
      `reason: ${reason}`,
      `- api: v1 -> v2: failed (${reason})`,
    ]);
  });

  test('a deploy that deployed nothing publishes nothing', async () => {
    const { deps, target } = deployDeps(bothTopics);
    const before = hooks.length;
    // v1 is the last good version: nothing to deploy.
    const result = await deploy(target('v1'), { commitSha: SHA('3'), automatic: true }, deps, FAST);
    expect(result).toMatchObject({ exitCode: 0, outcome: 'no_changes', notifications: [] });
    // A marker published after it: the only message in the queue.
    await sns.send(new PublishCommand({ TopicArn: JSON_TOPIC, Message: 'marker' }));
    expect((await drain()).map((m) => m.Body)).toEqual(['marker']);
    expect(hooks.length).toBe(before);
  });

  test('the CLI client takes its endpoint and credentials from the command environment, as the ECS client does', async () => {
    const client = snsClientFrom({
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    })(REGION);
    try {
      const out = await client.send(
        new PublishCommand({ TopicArn: JSON_TOPIC, Message: 'from the CLI client' }),
      );
      expect(out.MessageId).toEqual(expect.any(String));
    } finally {
      client.destroy();
    }
  });
});
