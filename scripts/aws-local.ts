// The scripts (redrive, cases) talk to AWS, or to the local emulators `npm start` runs. An emulator
// takes any region and credentials: with a local endpoint the scripts need neither from the user.

const LOCAL_HOST = /^(127\.0\.0\.1|localhost|\[::1\]|[a-z0-9.-]+\.localhost)$/i;

/** True for an endpoint on this machine (127.0.0.1, localhost, [::1], *.localhost). */
export function isLocalEndpoint(url: string | undefined): boolean {
  if (url === undefined) return false;
  try {
    return LOCAL_HOST.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

/**
 * The endpoint to use: `--endpoint` when given, else, for a local queue URL (fauxqs names its queues
 * `http://sqs.<region>.localhost:<port>/…`), 127.0.0.1 on that URL's port.
 */
export function endpointFor(endpoint: string | undefined, queueUrl?: string): string | undefined {
  if (endpoint !== undefined) return endpoint;
  if (queueUrl === undefined || !isLocalEndpoint(queueUrl)) return undefined;
  const url = new URL(queueUrl);
  return `${url.protocol}//127.0.0.1${url.port ? `:${url.port}` : ''}`;
}

/**
 * Client settings: the endpoint and region given (region else AWS_REGION / AWS_DEFAULT_REGION); with a
 * local endpoint, us-east-1 when no region is set and dummy credentials, so nothing looks for real ones.
 */
export function awsClientConfig(options: { endpoint?: string | undefined; region?: string | undefined }, env: NodeJS.ProcessEnv = process.env): {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
} {
  const local = isLocalEndpoint(options.endpoint);
  const region = options.region ?? (env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || (local ? 'us-east-1' : undefined));
  return {
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  };
}
