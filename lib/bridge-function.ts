import { Duration, Validations } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { RetentionDays, LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface BridgeFunctionProps {
  /** Entry file under lambda/. */
  readonly entry: string;
  readonly environment?: Record<string, string>;
  /** Values inlined by esbuild. */
  readonly define?: Record<string, string>;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default one month */
  readonly logRetention?: RetentionDays;
}

/** NodejsFunction with the house defaults: Node 22 on arm64, minified ESM bundle with source maps. */
export class BridgeFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: BridgeFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    const base: NodejsFunctionProps = {
      entry: props.entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: props.memorySize ?? 256,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: 'node22',
        // The Lambda runtime ships the AWS SDK v3.
        externalModules: ['@aws-sdk/*'],
        define: props.define ?? {},
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    };
    super(scope, id, base);
    Validations.of(this).acknowledge({ id: 'AwsSolutions-L1', reason: 'nodejs22.x is a supported LTS runtime chosen on purpose (issue #3); moving to nodejs24.x is a deliberate upgrade.' });
    if (this.role !== undefined) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The AWS basic execution role only lets the function write its own logs.',
      });
    }
  }
}
