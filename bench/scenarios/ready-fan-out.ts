// Ready fan-out: 1,000 agents long-polling GET /v1/connections/{id}/ready on one inactive connection that an
// admin then activates, against one agent long-polling the same way. Each answer is timed from the moment
// the activation is sent; the target compares the last of the 1,000 with the single agent's p99.
import { performance } from 'node:perf_hooks';
import { call } from '../http.js';
import { connectApiKey } from '../fleet.js';
import { configureKeyIntegration, startKeyApiStandIn } from '../stand-ins.js';
import type { Scenario } from '../scenario.js';
import { figure } from '../scenario.js';
import { alternate, quantile, summarize } from '../stats.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const readyFanOut: Scenario = async ({ stack, options, log }) => {
  const agents = 1_000;
  const singleSamples = options.quick ? 5 : 10;
  const keys = await startKeyApiStandIn();
  const worker = await stack.startWorker('ready-worker');
  const api = await stack.startApi('ready-api');
  try {
    await configureKeyIntegration(stack, keys, 'bench-ready');
    const admin = await stack.token({ role: 'admin' });
    const created = await connectApiKey(api.url!, admin, 'bench-ready', 'bench-key-ready');
    if (created.status !== 201) throw new Error(`the connection could not be made (${created.status})`);
    const id = created.id!;
    const tokens = await Promise.all(
      Array.from({ length: agents }, (_, i) =>
        stack.token({ role: 'agent', sub: `agent-${i}`, on_behalf_of: `user-${i}` }),
      ),
    );

    const transition = async (action: 'activate' | 'deactivate') => {
      const answer = await call(api.url!, 'POST', `/v1/connections/${id}/${action}`, { token: admin });
      if (answer.status !== 200) throw new Error(`${action} answered ${answer.status}`);
    };

    /**
     * Deactivates, opens `count` long-polls, waits until the server has had time to take them all (and
     * checks none answered early), activates, and times every answer from the moment activation was sent.
     */
    const round = async (count: number): Promise<number[]> => {
      await transition('deactivate');
      let activatedAt = Number.POSITIVE_INFINITY;
      let early = 0;
      const polls = tokens.slice(0, count).map(async (token) => {
        const answer = await call(api.url!, 'GET', `/v1/connections/${id}/ready?timeout=60`, { token });
        const at = performance.now();
        if (at < activatedAt) early++;
        if (answer.status !== 200 || answer.body.ready !== true)
          throw new Error(`a long-poll answered ${answer.status} ${JSON.stringify(answer.body)}`);
        return at;
      });
      // Every poll has been read, authenticated and subscribed by then (the first read is a primary-key
      // SELECT; a thousand take well under this on this machine).
      await sleep(count === 1 ? 300 : 3_000);
      activatedAt = performance.now();
      await transition('activate');
      const answered = await Promise.all(polls);
      if (early) throw new Error(`${early} long-polls answered before the activation`);
      return answered.map((at) => at - activatedAt);
    };

    const runs = await alternate(
      options.repetitions,
      async () => {
        const samples: number[] = [];
        for (let i = 0; i < singleSamples; i++) samples.push(...(await round(1)));
        return samples;
      },
      () => round(agents),
      (i, single, many) =>
        log(
          `#${i + 1}: one agent p99 ${quantile(single, 0.99).toFixed(1)} ms · ${agents} agents: first ` +
            `${Math.min(...many).toFixed(1)} ms, last ${Math.max(...many).toFixed(1)} ms`,
        ),
    );
    const single = runs.baseline.flat();
    const singleP99 = quantile(single, 0.99);
    const lasts = runs.measured.map((answers) => Math.max(...answers));
    const medians = runs.measured.map((answers) => quantile(answers, 0.5));
    const last = summarize(lasts);
    const singleFigure = summarize(runs.baseline.map((samples) => quantile(samples, 0.99)));
    return {
      scenario: 'ready fan-out',
      what: `${agents} agents long-polling ready on one connection that becomes active`,
      baseline: `one agent long-polling (${singleSamples} activations per repetition)`,
      figures: [
        figure('answer after activation: one agent, p99 per repetition', 'ms', singleFigure),
        figure(`answer after activation: ${agents} agents, median`, 'ms', summarize(medians)),
        figure(`answer after activation: ${agents} agents, last`, 'ms', last, singleFigure),
      ],
      checks: [
        {
          target: `last of ${agents} answered within 20 ms of one agent's p99`,
          value: `${(last.median - singleP99).toFixed(1)} ms after (one agent's p99 ${singleP99.toFixed(1)} ms over ${single.length} answers)`,
          met: last.median - singleP99 <= 20,
        },
      ],
      details: { agents, singleSamples, single, lasts, medians },
    };
  } finally {
    await api.stop();
    await worker.stop();
    await keys.stop();
  }
};
