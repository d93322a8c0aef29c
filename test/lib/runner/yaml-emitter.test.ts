import { parse } from 'yaml';
import { toYaml, type YamlValue } from '../../../lib/runner/private/yaml-emitter';

describe('toYaml', () => {
  test.each<[string, YamlValue]>([
    [
      'a buildspec-shaped document',
      {
        version: 0.2,
        env: { shell: 'bash', variables: { CI: 'true' } },
        phases: { build: { commands: ['npm ci', 'echo "$X"'] } },
      },
    ],
    [
      'strings YAML would otherwise reinterpret',
      { on: 'on', n: '0.2', colon: 'a: b', hash: '# not a comment', dash: '- x', empty: '' },
    ],
    [
      'keys that need quoting and nested sequences',
      { 'runtime-versions': { nodejs: 20 }, 'a b': [[1, 2], { x: [] }, {}], t: true },
    ],
  ])('round-trips %s through a YAML parser', (_name, value) => {
    expect(parse(toYaml(value))).toEqual(value);
  });

  test('rejects a number YAML cannot hold', () => {
    expect(() => toYaml({ n: Number.NaN })).toThrow('cannot write NaN as YAML');
  });
});
