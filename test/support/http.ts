import type { Express } from 'express';
import type { Server } from 'node:http';
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

/** What a command refused, as the API answers it (api/errors.ts): for tests that call the commands directly. */
export async function asAnswered<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (error) {
    throw apiErrorOf(error) ?? error;
  }
}
