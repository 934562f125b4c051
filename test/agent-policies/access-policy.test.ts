// The one decision function and the policy body's rules, without the stack: what each kind of policy allows
// and refuses, and which rule a refusal names.
import {
  decide,
  normalisePolicy,
  policyInput,
  underPrefix,
  type EffectivePolicy,
} from '../../agent-policies/access-policy.js';

const own = (integrations: Record<string, unknown>): EffectivePolicy => ({
  source: 'agent',
  policy: { integrations: normalisePolicy(policyInput.parse({ integrations })) },
});
const proxy = (method: string, path: string) => ({ kind: 'proxy' as const, method, path });

describe('decide', () => {
  it('allows everything where no policy applies (a workspace without any, or a caller that is no agent)', () => {
    expect(decide({ source: 'none' }, 'github', { kind: 'token' })).toEqual({ allowed: true });
    expect(decide({ source: 'none' }, 'github', proxy('DELETE', '/repos/x'))).toEqual({ allowed: true });
  });

  it('lets an agent without a policy of its own use every integration through the proxy, and refuses it the raw token', () => {
    expect(decide({ source: 'default' }, 'github', proxy('POST', '/anything'))).toEqual({ allowed: true });
    expect(decide({ source: 'default' }, 'github', { kind: 'token' })).toMatchObject({
      allowed: false,
      rule: 'token',
    });
  });

  it('refuses an integration its policy does not list, naming the rule', () => {
    const decision = decide(own({ slack: {} }), 'github', proxy('GET', '/user'));
    expect(decision).toMatchObject({ allowed: false, rule: 'integration' });
  });

  it('read_only allows GET and HEAD and refuses every other method', () => {
    const policy = own({ github: { methods: 'read_only' } });
    for (const method of ['GET', 'HEAD', 'get']) {
      expect([method, decide(policy, 'github', proxy(method, '/user')).allowed]).toEqual([method, true]);
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      expect([method, decide(policy, 'github', proxy(method, '/user'))]).toEqual([
        method,
        expect.objectContaining({ allowed: false, rule: 'method' }),
      ]);
    }
  });

  it('path prefixes match at segment boundaries, on the decoded path', () => {
    const policy = own({ github: { paths: ['/repos/acme', '/orgs/acme/'] } });
    const allowedPaths = ['/repos/acme', '/repos/acme/issues', '/repos/%61cme/pulls', '/orgs/acme/teams'];
    const refusedPaths = ['/repos/acme-corp', '/repos', '/orgs/acme', '/user', '/REPOS/acme'];
    for (const path of allowedPaths) {
      expect([path, decide(policy, 'github', proxy('GET', path)).allowed]).toEqual([path, true]);
    }
    for (const path of refusedPaths) {
      expect([path, decide(policy, 'github', proxy('GET', path))]).toEqual([
        path,
        expect.objectContaining({ allowed: false, rule: 'path' }),
      ]);
    }
  });

  it('the raw token only where the rule says so (proxy only by default)', () => {
    expect(decide(own({ github: {} }), 'github', { kind: 'token' })).toMatchObject({ rule: 'token' });
    expect(decide(own({ github: { token: true } }), 'github', { kind: 'token' })).toEqual({ allowed: true });
  });

  it('underPrefix: the root covers everything', () => {
    expect(underPrefix('/anything/at/all', '/')).toBe(true);
  });
});

describe('policyInput', () => {
  it('refuses a rule that hands out the raw token while limiting methods or paths (the token reaches every one)', () => {
    for (const rule of [
      { token: true, methods: 'read_only' },
      { token: true, methods: ['GET'] },
      { token: true, paths: ['/repos'] },
    ]) {
      const parsed = policyInput.safeParse({ integrations: { github: rule } });
      expect([rule, parsed.success, parsed.error?.issues[0]?.path]).toEqual([
        rule,
        false,
        ['integrations', 'github', 'token'],
      ]);
    }
  });

  it('refuses prefixes that are not absolute paths, or hold a query, dot or empty segments', () => {
    for (const prefix of ['repos', '/repos?x=1', '/a/../b', '/a//b', '/a/.', '/a b', '/a\\b', '']) {
      const parsed = policyInput.safeParse({ integrations: { github: { paths: [prefix] } } });
      expect([prefix, parsed.success]).toEqual([prefix, false]);
    }
  });

  it('refuses unknown fields, methods the proxy does not carry, and malformed integration keys', () => {
    for (const body of [
      { integrations: { github: { verbs: ['GET'] } } },
      { integrations: { github: { methods: ['TRACE'] } } },
      { integrations: { GitHub: {} } },
      { integrations: {}, extra: true },
    ]) {
      expect([body, policyInput.safeParse(body).success]).toEqual([body, false]);
    }
  });

  it('normalises: presets expanded, methods in the proxy order without repeats, defaults filled', () => {
    const input = policyInput.parse({
      integrations: {
        github: { methods: ['POST', 'GET', 'POST'], paths: ['/a', '/a'] },
        slack: { methods: 'read_only' },
        notion: { methods: 'any', token: true },
      },
    });
    expect(normalisePolicy(input)).toEqual({
      github: { methods: ['GET', 'POST'], paths: ['/a'], token: false },
      slack: { methods: ['GET', 'HEAD'], paths: null, token: false },
      notion: { methods: null, paths: null, token: true },
    });
  });
});
