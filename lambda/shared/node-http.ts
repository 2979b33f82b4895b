/**
 * `node:http` for the Lambda bundles (lib/lambda-bundle.ts aliases `http` and `node:http` here):
 * the module from Node's own loader (process.getBuiltinModule), as `require` gives it. An ESM
 * `import` of node:http builds its ESM facade, which reads every export, Node's fetch classes
 * (WebSocket, ...) among them, and so loads undici: about 22 ms of CPU, paid by the AWS SDK's first
 * request over plain HTTP (a local endpoint) although nothing uses fetch. Only what the bundled
 * code imports is named here (esbuild fails the build on a name missing).
 */
const http = process.getBuiltinModule('node:http');

export default http;
export const { Agent, ClientRequest, IncomingMessage, OutgoingMessage, Server, ServerResponse, STATUS_CODES, METHODS, createServer, get, request, globalAgent, validateHeaderName, validateHeaderValue } = http;
