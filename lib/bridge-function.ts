import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { AssetHashType, DockerImage, Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, LoggingFormat, Runtime, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays, LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { INGEST_FUNCTION_TIMEOUT_SECONDS } from '../lambda/shared/budgets.js';
import { FUNCTION_MEMORY_MB, FUNCTION_SYSTEM_LOG_LEVEL, LAMBDA_ENTRY_NAME, LAMBDA_ENVIRONMENT, lambdaBuildOptions } from './lambda-bundle.js';

export interface BridgeFunctionProps {
  /** Entry file under lambda/. */
  readonly entry: string;
  readonly environment?: Record<string, string>;
  /** Values inlined by esbuild. */
  readonly define?: Record<string, string>;
  /** @default INGEST_FUNCTION_TIMEOUT_SECONDS (lambda/shared/budgets.ts) */
  readonly timeout?: Duration;
  /** @default FUNCTION_MEMORY_MB (256) */
  readonly memorySize?: number;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /** Concurrent executions reserved for (and at most used by) this function. @default none: the account's unreserved pool */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * What the functions' `CASE_BRIDGE_SECRET_ID` names: the secret's full ARN, or, for a secret imported
 * by name, the name itself (exact in Secrets Manager). Never the partial ARN CDK gives an imported
 * name (`arn:…:secret:case-bridge`, without the random suffix), which Secrets Manager resolves only
 * while it matches a single secret.
 */
export function secretIdOf(secret: ISecret): string {
  return secret.secretFullArn === undefined ? secret.secretName : secret.secretFullArn;
}

/**
 * A Lambda function with the house defaults: Node 24 on arm64, a minified ESM bundle (source maps
 * beside it, not enabled) and code splitting, built at synth by the local esbuild with lib/lambda-bundle.ts (the options the
 * bench measures). Not NodejsFunction: it cannot split code (it passes esbuild a single outfile).
 */
export class BridgeFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: BridgeFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    // Its own role instead of AWSLambdaBasicExecutionRole (logs:CreateLogGroup, CreateLogStream and
    // PutLogEvents on every log group): it writes only its own log group, which the stack creates.
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: `case-bridge ${id} function` });
    logGroup.grantWrite(role);
    const define = props.define ?? {};
    const code = Code.fromAsset(dirname(props.entry), {
      // The hash of what is deployed, so a change anywhere in the bundle's inputs is a new version.
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // CDK caches bundles per app, keyed by the source path and these options as JSON; the inlined
        // rules live only in tryBundle, so without this two stacks of one app (staging and prod) would
        // share the first one's bundle. (Only Docker bundling, never used here, would read it.)
        environment: { CASE_BRIDGE_BUILD: createHash('sha256').update(JSON.stringify(lambdaBuildOptions(props.entry, '', define))).digest('hex') },
        // Never used: local bundling always succeeds or throws (no Docker needed for synth).
        image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
        local: {
          tryBundle(outputDir: string): boolean {
            buildSync(lambdaBuildOptions(props.entry, outputDir, define));
            return true;
          },
        },
      },
    });
    super(scope, id, {
      code,
      handler: `${LAMBDA_ENTRY_NAME}.handler`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(INGEST_FUNCTION_TIMEOUT_SECONDS),
      memorySize: props.memorySize ?? FUNCTION_MEMORY_MB,
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      loggingFormat: LoggingFormat.JSON,
      // Lambda's per-invocation platform records off (FUNCTION_SYSTEM_LOG_LEVEL); the application level stays the function's LOG_LEVEL.
      systemLogLevelV2: SystemLogLevel[FUNCTION_SYSTEM_LOG_LEVEL],
      logGroup,
      role,
      // No NODE_OPTIONS=--enable-source-maps: Node would read and parse the bundle's source map at every
      // cold start (about 10 ms measured here), and our logs carry no stack traces (see redact in
      // lambda/shared/log.ts). The maps ship beside the bundle for anyone who turns it on (README).
      environment: { ...LAMBDA_ENVIRONMENT, ...props.environment },
    });
  }
}
