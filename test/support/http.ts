import type { Express } from 'express';
import { createServer, type Server } from 'node:http';
import { apiErrorOf } from '../../api/errors.js';

/** Serves the app on a free loopback port for the duration of a test file. */
export async function listen(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A loopback port taken before the app exists, for an app that must know its own URL (PUBLIC_URL, the
 * OAuth redirect URI registered at the provider); `serve` hands it the app, which answers from then on.
 */
export async function listenFirst(): Promise<{
  url: string;
  serve(app: Express): void;
  close(): Promise<void>;
}> {
  let served: Express | undefined;
  const server = createServer((req, res) => {
    if (served) return void served(req, res);
    res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    serve: (app) => void (served = app),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A browser keeps its connections open: they must not hold the end of the test file.
        server.closeAllConnections();
      }),
  };
}

/** What a command refused, as the API answers it (api/errors.ts): for tests that call the commands directly. */
export async function asAnswered<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw apiErrorOf(error) ?? error;
  }
}
