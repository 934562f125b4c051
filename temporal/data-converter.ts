// The data converters of the connections worker and of every Temporal client (API, tests, operators'
// scripts): payloads through the encrypting codec, failures encoded so that the codec covers their messages
// and stack traces too. A worker or client built without these writes history that others cannot read,
// or reads encrypted history as garbage: never create one without them.
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { fileURLToPath } from 'node:url';

/** The module exporting `failureConverter`; the SDK `require()`s it and bundles it into the workflow sandbox. */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** For `Worker.create({ dataConverter })`. */
export function workerDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath };
}

/** For `new Client({ dataConverter })` (or `new WorkflowClient(...)`); a Client passes it to its sub-clients. */
export function clientDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath };
}
