// docker-compose.yml as compose would read it (the compose specification's interpolation: `${VAR:?err}`
// required, `${VAR:-default}` and `${VAR-default}` defaulted): no secret has a default or a literal value,
// every secret the service needs is required, nothing published is back in it, ports are published on
// loopback only, and `npm run compose-env` writes every required secret (once, mode 0600) so that the API's
// and worker's environment then passes the service's own configuration loader. No Docker engine is needed.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../../config/config.js';
import { developmentSecrets } from '../../config/development-secrets.js';
import { projectRoot } from '../../platform/process.js';

const composeFile = path.join(projectRoot, 'docker-compose.yml');
const isSecretName = (name: string) => /SECRET|PASSWORD|PASSWD|PWD|TOKEN|ACCESS_KEY|(^|_)KEY$/.test(name);
const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g;

interface Compose {
  'x-app-env': Record<string, string>;
  services: Record<string, { environment?: Record<string, string>; ports?: string[] }>;
  configs: Record<string, { content?: string }>;
}

/** Every string value of the parsed file, with where it is. */
function strings(value: unknown, at = ''): Array<[string, string]> {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, `${at}[${index}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => strings(child, at ? `${at}.${key}` : key));
  }
  return [];
}

/** Compose's interpolation of one value. */
function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(reference, (_match, name: string, operator: string | undefined, argument: string) => {
    const value = env[name];
    switch (operator) {
      case ':?':
        if (!value) throw new Error(`required variable ${name} is missing a value: ${argument}`);
        return value;
      case '?':
        if (value === undefined) throw new Error(`required variable ${name} is missing a value: ${argument}`);
        return value;
      case ':-':
        return value || argument;
      case '-':
        return value ?? argument;
      default:
        return value ?? '';
    }
  });
}

async function composeEnv(file: string) {
  await promisify(execFile)('npm', ['run', '-s', 'compose-env', '--', '--file', file], {
    cwd: projectRoot,
    timeout: 60_000,
  });
  const text = await readFile(file, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  ) as Record<string, string>;
}

describe('docker-compose.yml', () => {
  let text: string;
  let compose: Compose;
  let references: Array<{ at: string; name: string; operator?: string }>;
  beforeAll(async () => {
    text = await readFile(composeFile, 'utf8');
    compose = parse(text, { merge: true }) as Compose;
    references = strings(compose).flatMap(([at, value]) =>
      [...value.matchAll(reference)].map((match) => ({ at, name: match[1]!, operator: match[2] })),
    );
  });

  it('gives no secret a default: each one it references is required', () => {
    const secrets = references.filter((ref) => isSecretName(ref.name));
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.filter((ref) => ref.operator !== ':?')).toEqual([]);
  });

  it('holds no secret literally: every value under a secret name, and the database password, is a variable', () => {
    const literal = strings(compose).filter(([at, value]) => {
      const name = at.split('.').at(-1)!;
      return isSecretName(name) && !/^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}$/.test(value);
    });
    expect(literal).toEqual([]);
    const databaseUrl = compose['x-app-env'].DATABASE_URL!;
    expect(databaseUrl).toMatch(/^postgres:\/\/connections:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\//);
    // Nor a published development secret, nor a KMS backing key.
    for (const published of developmentSecrets) expect(text).not.toContain(published);
    expect(text).not.toMatch(/\b[0-9a-f]{64}\b/i);
    expect(compose.configs['kms-seed']!.content).toMatch(/BackingKeys:\s*\n\s*- \$\{KMS_BACKING_KEY:\?/);
  });

  it('requires every secret the service needs, for the API and the worker alike', () => {
    const appEnv = compose['x-app-env'];
    expect(compose.services.api!.environment).toEqual(appEnv);
    expect(compose.services.worker!.environment).toEqual(appEnv);
    for (const name of ['AUTH_JWT_SECRET', 'OPERATOR_JWT_SECRET', 'TEMPORAL_CODEC_KEY']) {
      expect(appEnv[name]).toMatch(new RegExp(`^\\$\\{${name}:\\?`));
      // Compose itself stops, naming it, when the variable is unset.
      expect(() => interpolate(appEnv[name]!, {})).toThrow(new RegExp(`${name} is missing`));
    }
  });

  it('publishes its ports on loopback only', () => {
    const ports = Object.entries(compose.services).flatMap(([service, { ports = [] }]) =>
      ports.map((port) => `${service} ${port}`),
    );
    expect(ports.length).toBeGreaterThan(0);
    expect(ports.filter((port) => !/ 127\.0\.0\.1:\d+:\d+$/.test(port))).toEqual([]);
  });

  it('runs the service with what npm run compose-env writes, and refuses the values it used to ship', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'compose-env-'));
    const env = await composeEnv(path.join(dir, '.env'));
    const required = [...new Set(references.filter((ref) => ref.operator === ':?').map((ref) => ref.name))];
    expect(Object.keys(env).sort()).toEqual(required.sort());
    expect((await stat(path.join(dir, '.env'))).mode & 0o777).toBe(0o600);

    const appEnv = (vars: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(compose['x-app-env']).map(([key, value]) => [key, interpolate(value, vars)]),
      );
    const config = loadConfig(appEnv(env));
    expect(config.embedded).toBe(false);
    expect(config.auth.jwtSecret).toBe(env.AUTH_JWT_SECRET);
    expect(config.operator.secret).toBe(env.OPERATOR_JWT_SECRET);

    const shipped = {
      ...env,
      AUTH_JWT_SECRET: 'change-me-this-is-a-development-secret-only',
      TEMPORAL_CODEC_KEY: 'ZGV2ZWxvcG1lbnQtb25seS1jb2RlYy1rZXktMzJieXQ=',
    };
    expect(() => loadConfig(appEnv(shipped))).toThrow(ConfigError);
    expect(() => loadConfig(appEnv(shipped))).toThrow(/AUTH_JWT_SECRET, TEMPORAL_CODEC_KEY hold a published/);
  });

  it("has the Temporal UI send the browser's cookies to the API's codec server, which allows the UI's origin", async () => {
    const env = await composeEnv(path.join(await mkdtemp(path.join(tmpdir(), 'compose-env-')), '.env'));
    const config = loadConfig(
      Object.fromEntries(
        Object.entries(compose['x-app-env']).map(([key, value]) => [key, interpolate(value, env)]),
      ),
    );
    const ui = compose.services['temporal-ui']!;
    const uiEnv = Object.fromEntries(
      Object.entries(ui.environment ?? {}).map(([key, value]) => [key, interpolate(value, env)]),
    );
    // The names are those of the UI image's config template (ui-server's config/docker.yaml).
    expect(uiEnv.TEMPORAL_CODEC_ENDPOINT).toBe(`${config.publicUrl}/codec`);
    expect(uiEnv.TEMPORAL_CODEC_INCLUDE_CREDENTIALS).toBe('true');
    // The UI is published where the API's TEMPORAL_UI_URL says (the origin its codec server allows).
    const [, hostPort] = /^127\.0\.0\.1:(\d+):\d+$/.exec(ui.ports![0]!)!;
    expect('uiUrl' in config.temporal && config.temporal.uiUrl).toBe(`http://localhost:${hostPort}`);
    // Same site as the API (the operator's cookie is SameSite=Strict): the same host name.
    expect(new URL(config.publicUrl).hostname).toBe('localhost');
  });

  it('has npm run compose-env write fresh values once, and only the ones missing afterwards', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'compose-env-'));
    const [first, other] = await Promise.all([
      composeEnv(path.join(dir, 'first.env')),
      composeEnv(path.join(dir, 'other.env')),
    ]);
    for (const name of Object.keys(first)) expect(first[name]).not.toBe(other[name]);
    expect(await composeEnv(path.join(dir, 'first.env'))).toEqual(first);

    const partial = path.join(dir, 'partial.env');
    await writeFile(partial, 'AUTH_JWT_SECRET=kept-as-it-is-0123456789abcdef0123456789\nLOG_LEVEL=debug');
    const completed = await composeEnv(partial);
    expect(completed.AUTH_JWT_SECRET).toBe('kept-as-it-is-0123456789abcdef0123456789');
    expect(completed.LOG_LEVEL).toBe('debug');
    expect(Object.keys(completed).sort()).toEqual([...Object.keys(first), 'LOG_LEVEL'].sort());
  });
});
