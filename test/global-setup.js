// Starts the real services once for the whole run. Jest loads global setup outside its own module system, so
// the TypeScript is loaded through tsx here.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { startTestServices } = await tsImport('./support/services.ts', import.meta.url);
  const services = await startTestServices();
  // Test workers are forked after this and inherit the environment.
  Object.assign(process.env, services.env);
  globalThis.__testServices = services;
}
