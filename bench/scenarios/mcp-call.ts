// MCP call: the MCP server's `call_integration` tool, called by the SDK's own client (Client over
// StreamableHTTPClientTransport) from several clients at once in a closed loop, each client one agent with
// one session, against the direct proxy (`/v1/connections/{id}/proxy/…`, undici, as many connections) with
// the same agents' tokens and the same target (a GET of the stand-in API), alternating. Both go through the
// same proxy core; the difference is what MCP adds: JSON-RPC framing, the session, the tool's input schema
// and its structured result. Also counted: the API's CPU per call (from /proc), and the bench process's
// (the load generator and the stand-in API), since the SDK's client costs more than a bare HTTP request.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isDeepStrictEqual } from 'node:util';
import { connectApiKey } from '../fleet.js';
import { closedLoop, closedLoopOver, type LoopTiming } from '../http.js';
import type { Check, Figure, Scenario } from '../scenario.js';
import { figure } from '../scenario.js';
import { configureKeyIntegration, standInRecord, startKeyApiStandIn } from '../stand-ins.js';
import { alternate, summarize, type LatencyFigures } from '../stats.js';

/** Distinct records read, so that neither side answers the same request over and over. */
const RECORDS = 100;
/** A tool call that has not answered by then counts as failed (the SDK rejects it). */
const CALL_TIMEOUT_MS = 30_000;

interface Run extends LatencyFigures {
  /** The API process's CPU per call sent, in ms. */
  apiCpuMs: number;
  /** The bench process's CPU (load generator and stand-in API) per call sent, in ms. */
  benchCpuMs: number;
}

/** The provider's answer carried in a call_integration result, decoded as the tool says it is encoded. */
function answeredBody(content: Record<string, unknown>): unknown {
  const body = content.body;
  if (typeof body !== 'string') return body;
  const text = content.bodyEncoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const mcpCall: Scenario = async ({ stack, options, log }) => {
  const concurrencies = options.quick ? [8] : [8, 32];
  const timing: LoopTiming = { seconds: options.quick ? 3 : 10, warmupSeconds: 1 };
  const providerKey = 'bench-key-mcp';
  const keys = await startKeyApiStandIn();
  const worker = await stack.startWorker('mcp-worker');
  const api = await stack.startApi('mcp-api');
  try {
    await configureKeyIntegration(stack, keys, 'bench-mcp');
    const admin = await stack.token({ role: 'admin' });
    const created = await connectApiKey(api.url!, admin, 'bench-mcp', providerKey);
    if (created.status !== 201) throw new Error(`the connection could not be made (${created.status})`);
    const id = created.id!;
    // One agent per client, on both sides: the MCP server bounds the sessions one caller holds at once, and
    // an agent runtime holds one session per agent.
    const agentTokens = await Promise.all(
      Array.from({ length: Math.max(...concurrencies) }, (_, k) =>
        stack.token({ role: 'agent', sub: `agent-mcp-${k}`, on_behalf_of: `user-mcp-${k}` }),
      ),
    );
    const agentToken = agentTokens[0]!;
    keys.watchFor(agentTokens);
    const mcpUrl = new URL('/mcp', api.url);
    const target = (i: number) => `/v1/records/${i % RECORDS}`;

    const openClient = async (token: string) => {
      const client = new Client({ name: 'bench', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(mcpUrl, {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      return {
        client,
        // The SDK types a call's result as today's or the 2024-11-05 protocol's; a server on this SDK answers
        // today's.
        callIntegration: async (i: number) =>
          (await client.callTool(
            { name: 'call_integration', arguments: { connection: id, method: 'GET', path: target(i) } },
            undefined,
            { timeout: CALL_TIMEOUT_MS },
          )) as CallToolResult,
        async close() {
          await transport.terminateSession();
          await client.close();
        },
      };
    };

    // One call each way before any load: both answer the stand-in's record, and the tool's result carries
    // no credential (neither the provider's key nor the agent's token).
    const checks: Check[] = [];
    const probe = await openClient(agentToken);
    let probeResult: CallToolResult;
    try {
      const tools = await probe.client.listTools();
      if (!tools.tools.some((tool) => tool.name === 'call_integration'))
        throw new Error(`the MCP server has no call_integration tool (${tools.tools.map((t) => t.name)})`);
      probeResult = await probe.callIntegration(7);
    } finally {
      await probe.close();
    }
    const content = (probeResult.structuredContent ?? {}) as Record<string, unknown>;
    if (probeResult.isError || content.status !== 200)
      throw new Error(`call_integration answered ${JSON.stringify(probeResult).slice(0, 500)}`);
    const direct = await fetch(`${api.url}/v1/connections/${id}/proxy${target(7)}`, {
      headers: { authorization: `Bearer ${agentToken}` },
    });
    const directBody: unknown = await direct.json();
    const printed = JSON.stringify(probeResult);
    checks.push(
      {
        target: 'call_integration and the proxy answer the provider’s body',
        value: `tool ${content.status}, proxy ${direct.status}`,
        met:
          direct.status === 200 &&
          isDeepStrictEqual(answeredBody(content), standInRecord('7')) &&
          isDeepStrictEqual(directBody, standInRecord('7')),
      },
      {
        target: 'no credential in the tool result',
        value: printed.includes(providerKey) || printed.includes(agentToken) ? 'found' : 'none',
        met: !printed.includes(providerKey) && !printed.includes(agentToken),
      },
    );

    const measuredRun = async (load: () => Promise<LatencyFigures>): Promise<Run> => {
      const apiBefore = await api.cpuSeconds();
      const benchBefore = process.cpuUsage();
      const run = await load();
      const bench = process.cpuUsage(benchBefore);
      const apiCpu = (await api.cpuSeconds()) - apiBefore;
      return {
        ...run,
        apiCpuMs: (apiCpu * 1000) / run.sent,
        benchCpuMs: (bench.user + bench.system) / 1000 / run.sent,
      };
    };
    const proxyRun = (concurrency: number) =>
      measuredRun(() =>
        closedLoop({
          base: api.url!,
          method: 'GET',
          path: (i) => `/v1/connections/${id}/proxy${target(i)}`,
          headers: {},
          clientHeaders: (k) => ({ authorization: `Bearer ${agentTokens[k]}` }),
          concurrency,
          ...timing,
        }),
      );
    // Sessions are opened before and closed after the timed stretch: what is measured is calls, the way
    // an agent runtime holds one session and calls tools on it.
    const mcpRun = async (concurrency: number) => {
      const clients = await Promise.all(agentTokens.slice(0, concurrency).map(openClient));
      // The first failed call's answer or error, logged: the loop itself only counts failures.
      let failure: string | undefined;
      try {
        const run = await measuredRun(() =>
          closedLoopOver(
            clients.map((client) => async (i: number) => {
              const result = await client.callIntegration(i).catch((error: Error) => {
                failure ??= error.message;
                throw error;
              });
              const ok = !result.isError && result.structuredContent?.status === 200;
              if (!ok) failure ??= JSON.stringify(result).slice(0, 500);
              return ok;
            }),
            timing,
          ),
        );
        if (failure) log(`c=${concurrency}: a call_integration failed: ${failure}`);
        return run;
      } finally {
        await Promise.all(clients.map((client) => client.close()));
      }
    };

    const figures: Figure[] = [];
    const details: Record<string, unknown> = { ...timing, concurrencies, records: RECORDS };
    const callsBefore = keys.apiCalls;
    const unauthorisedBefore = keys.unauthorised;
    let sent = 0;
    for (const concurrency of concurrencies) {
      const runs = await alternate(
        options.repetitions,
        async () => {
          const run = await proxyRun(concurrency);
          sent += run.sent;
          return run;
        },
        async () => {
          const run = await mcpRun(concurrency);
          sent += run.sent;
          return run;
        },
        (i, a, b) =>
          log(
            `c=${concurrency} #${i + 1}: proxy ${a.perSecond.toFixed(0)}/s p99 ${a.p99.toFixed(2)} ms · ` +
              `call_integration ${b.perSecond.toFixed(0)}/s p99 ${b.p99.toFixed(2)} ms ` +
              `(${a.errors} + ${b.errors} errors)`,
          ),
      );
      const pick = (key: keyof Run) =>
        [
          summarize(runs.measured.map((run) => run[key])),
          summarize(runs.baseline.map((run) => run[key])),
        ] as const;
      const rps = figure(`calls/s at concurrency ${concurrency}`, '/s', ...pick('perSecond'));
      figures.push(
        rps,
        figure(`p50 at concurrency ${concurrency}`, 'ms', ...pick('p50')),
        figure(`p99 at concurrency ${concurrency}`, 'ms', ...pick('p99')),
        figure(`API CPU per call at concurrency ${concurrency}`, 'ms', ...pick('apiCpuMs')),
        figure(
          `bench process CPU per call (client and stand-in) at concurrency ${concurrency}`,
          'ms',
          ...pick('benchCpuMs'),
        ),
      );
      const errors = (side: Run[]) => side.reduce((sum, run) => sum + run.errors, 0);
      checks.push(
        {
          target: `call_integration throughput ≥ 0.8 × direct proxy at concurrency ${concurrency}`,
          value: `${rps.ratio!.toFixed(2)} ×`,
          met: rps.ratio! >= 0.8,
        },
        {
          target: `no failed calls at concurrency ${concurrency}`,
          value: `${errors(runs.measured)} tool, ${errors(runs.baseline)} proxy`,
          met: errors(runs.measured) === 0 && errors(runs.baseline) === 0,
        },
      );
    }
    // Every call sent reached the stand-in once (no refresh happens: an API key does not expire), with the
    // provider's key and never an agent's token (in any header).
    const reached = keys.apiCalls - callsBefore;
    const unauthorised = keys.unauthorised - unauthorisedBefore;
    checks.push({
      target: 'the provider received its key on every call, never an agent’s token',
      value: `${reached} calls for ${sent} sent: ${unauthorised} without the key, ${keys.leaks} with a token`,
      met: reached === sent && unauthorised === 0 && keys.leaks === 0,
    });
    details.calls = sent;
    return {
      scenario: 'mcp call',
      what: 'call_integration (a GET of a loopback API) by the SDK client, one agent and session per client',
      baseline: 'the direct proxy, same agents (one per client) and target',
      figures,
      checks,
      details,
    };
  } finally {
    await api.stop();
    await worker.stop();
    await keys.stop();
  }
};
