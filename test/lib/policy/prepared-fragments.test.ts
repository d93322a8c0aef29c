import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import {
  App,
  Aspects,
  Fn,
  Lazy,
  S3Backend,
  TerraformElement,
  TerraformOutput,
  TerraformStack,
  TerraformVariable,
  Token,
  Tokenization,
  type IAspect,
} from 'cdktf';
import type { IConstruct } from 'constructs';
import { DefaultTokenResolver, StringConcat } from 'cdktf';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Policy } from '../../../lib/policy';
import {
  keepPreparedFragments,
  resolveFast,
  toTerraformReusingPrepared,
} from '../../../lib/policy/private/prepared-fragments';
import { referenceConfig } from '../../../environments';
import { createStacks } from '../../../stacks';
import { REFERENCE_STACKS } from '../../util';

// The synth of a policy-enforced stack builds its JSON from the fragments of cdktf's preparing
// pass instead of resolving every element again. These tests hold that JSON to cdktf's own
// `stack.toTerraform()`, resolved afresh after synth, byte for byte as cdktf writes it.

/** cdktf writes cdk.tf.json with sorted keys and 2-space indentation. */
function asWritten(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value), null, 2);
}

function written(app: App, stack: string): string {
  return asWritten(
    JSON.parse(fs.readFileSync(path.join(app.outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')),
  );
}

function newApp(): App {
  return new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-prepared-')) });
}

function awsStack(app: App, id: string): TerraformStack {
  const stack = new TerraformStack(app, id);
  new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: ['111111111111'] });
  return stack;
}

/** A log group the policy accepts (it must pass for synth to write anything). */
function logGroup(stack: TerraformStack, id: string, name: string): CloudwatchLogGroup {
  return new CloudwatchLogGroup(stack, id, {
    name,
    retentionInDays: 30,
    kmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-000000000000',
    lifecycle: { preventDestroy: true },
  });
}

describe('toTerraformReusingPrepared', () => {
  test('the reference app writes, for every stack, what cdktf resolves afresh', () => {
    const app = newApp();
    createStacks(app, referenceConfig);
    app.synth();
    const stacks = app.node.findAll().filter(TerraformStack.isStack);
    expect(stacks.map((s) => s.node.id)).toEqual([...REFERENCE_STACKS]);
    for (const stack of stacks) expect(written(app, stack.node.id)).toBe(asWritten(stack.toTerraform()));
  });

  test('after the preparing pass, it builds the JSON without resolving the stack again', () => {
    const app = newApp();
    const stack = awsStack(app, 'one');
    const group = logGroup(stack, 'logs', 'app');
    new SsmParameter(stack, 'param', {
      name: '/app/log-group',
      type: 'String',
      value: Fn.join(':', [group.arn, Token.asString(group.retentionInDays)]),
      tags: { [Token.asString('team')]: 'platform' },
    });
    new TerraformOutput(stack, 'arn', { value: group.arn });
    new S3Backend(stack, {
      bucket: 'acme-state',
      key: 'one.tfstate',
      region: 'eu-west-1',
    });
    keepPreparedFragments(stack);
    stack.prepareStack();
    const spy = jest.spyOn(TerraformStack.prototype, 'toTerraform');
    const reused = toTerraformReusingPrepared(stack);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expect(asWritten(reused)).toBe(asWritten(stack.toTerraform()));
    expect(reused['//']).toMatchObject({
      metadata: { backend: 's3', stackName: 'one' },
      outputs: { one: { arn: 'arn' } },
    });
    expect(JSON.stringify(reused)).not.toMatch(/TfToken|\$\{Token/);
  });

  test('is used once: a second call resolves the stack afresh', () => {
    const app = newApp();
    const stack = awsStack(app, 'one');
    logGroup(stack, 'logs', 'app');
    keepPreparedFragments(stack);
    stack.prepareStack();
    toTerraformReusingPrepared(stack);
    const spy = jest.spyOn(TerraformStack.prototype, 'toTerraform');
    toTerraformReusingPrepared(stack);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });

  test('cross-stack references: the producer gains its output, the consumer reads remote state', () => {
    const app = newApp();
    const producer = awsStack(app, 'producer');
    const group = logGroup(producer, 'logs', 'common');
    const consumer = awsStack(app, 'consumer');
    new SsmParameter(consumer, 'param', { name: '/common/log-group', type: 'String', value: group.arn });
    Policy.enforce(producer);
    Policy.enforce(consumer);
    app.synth();
    for (const id of ['producer', 'consumer']) {
      const stack = app.node.findChild(id) as TerraformStack;
      expect(written(app, id)).toBe(asWritten(stack.toTerraform()));
    }
    expect(JSON.parse(written(app, 'producer')).output).toEqual({
      'cross-stack-output-aws_cloudwatch_log_grouplogsarn': {
        sensitive: true,
        value: '${aws_cloudwatch_log_group.logs.arn}',
      },
    });
    expect(written(app, 'consumer')).toMatch(/terraform_remote_state/);
    expect(written(app, 'consumer')).toMatch(
      /data\.terraform_remote_state\.cross-stack-reference-input-producer\.outputs/,
    );
  });

  test('an aspect that changes a resource after the preparing pass is in the written JSON', () => {
    const app = newApp();
    const stack = awsStack(app, 'one');
    logGroup(stack, 'logs', 'app');
    class Retention implements IAspect {
      visit(node: IConstruct): void {
        if (node instanceof CloudwatchLogGroup) node.retentionInDays = 400;
      }
    }
    Aspects.of(stack).add(new Retention());
    Policy.enforce(stack);
    app.synth();
    expect(JSON.parse(written(app, 'one')).resource.aws_cloudwatch_log_group.logs.retention_in_days).toBe(
      400,
    );
    expect(written(app, 'one')).toBe(asWritten(stack.toTerraform()));
  });

  test('stack-level overrides with tokens are resolved; resource overrides are kept', () => {
    const app = newApp();
    const stack = awsStack(app, 'one');
    const group = logGroup(stack, 'logs', 'app');
    group.addOverride('tags', { owner: 'platform' });
    const param = new SsmParameter(stack, 'param', { name: '/one', type: 'String', value: 'one' });
    stack.addOverride('output.param_arn', { value: param.arn });
    Policy.enforce(stack);
    app.synth();
    const json = JSON.parse(written(app, 'one'));
    expect(json.output.param_arn.value).toBe('${aws_ssm_parameter.param.arn}');
    expect(json.resource.aws_cloudwatch_log_group.logs.tags).toEqual({ owner: 'platform' });
    expect(written(app, 'one')).toBe(asWritten(stack.toTerraform()));
  });
});

describe('resolveFast', () => {
  const cdktfResolve = (stack: TerraformStack, value: unknown): unknown =>
    Tokenization.resolve(value, {
      scope: stack,
      preparing: false,
      resolver: new DefaultTokenResolver(new StringConcat()),
    });

  test('resolves every element of the reference app as cdktf does', () => {
    const app = newApp();
    createStacks(app, referenceConfig);
    let elements = 0;
    for (const stack of app.node.findAll().filter(TerraformStack.isStack)) {
      for (const element of stack.node.findAll().filter(TerraformElement.isTerraformElement)) {
        expect(resolveFast(stack, element.toTerraform(), false)).toEqual(
          cdktfResolve(stack, element.toTerraform()),
        );
        elements++;
      }
    }
    expect(elements).toBeGreaterThan(250);
  });

  test('hands cdktf every value that may hold a token, and copies the rest as cdktf does', () => {
    const app = newApp();
    const stack = awsStack(app, 'one');
    const variable = new TerraformVariable(stack, 'names', { type: 'list(string)' });
    const count = new TerraformVariable(stack, 'count', { type: 'number' });
    const ports = new TerraformVariable(stack, 'ports', { type: 'list(number)' });
    const tags = new TerraformVariable(stack, 'tags', { type: 'map(string)' });
    const values: unknown[] = [
      'plain',
      'arn:aws:iam::111111111111:role/${aws:username}', // an escape sequence, for cdktf to handle
      'version 1e+25 and 2e+289',
      `${Token.asString(count.numberValue)}-suffix`,
      `${count.numberValue}-suffix`, // a number-token concatenated as a double

      count.numberValue,
      [count.numberValue, 1],
      Token.asNumberList(ports.value),
      variable.listValue,
      [...variable.listValue],
      { [variable.stringValue]: 'key is a token' },
      Token.asStringMap(tags.value),
      Token.asString({ a: 1 }),
      Lazy.stringValue({ produce: () => 'lazy' }),
      Fn.join(',', variable.listValue),
      { nested: [{ deep: [undefined, 'x', null, true, 0, -1.5] }], gone: undefined },
      [undefined, undefined],
      new Date(0),
      {},
      [],
    ];
    for (const value of values) expect(resolveFast(stack, value, false)).toEqual(cdktfResolve(stack, value));
  });

  test('reports what cdktf reports: functions and constructs cannot be resolved', () => {
    const app = newApp();
    const stack = awsStack(app, 'one');
    expect(() => resolveFast(stack, { f: () => 1 }, false)).toThrow(/function/i);
    expect(() => resolveFast(stack, { c: stack }, false)).toThrow(/construct/i);
  });
});
