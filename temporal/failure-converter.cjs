// The failure converter of every worker and client: error messages and stack traces travel as an encoded
// payload, so the payload codec encrypts them like any other payload. Without it, a provider's error text
// (which can echo a token or a key) would sit in Temporal history in clear.
//
// Loaded by path (`failureConverterPath`): `require()`d by the SDK in the worker and client, and bundled into
// the workflow sandbox. It is CommonJS because that `require()` cannot load an ES module or TypeScript under
// jest on Node 20 (ERR_REQUIRE_ESM). It must never import anything but @temporalio/common, nor hold state.
/* global require, exports */
/* eslint-disable @typescript-eslint/no-require-imports */
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
