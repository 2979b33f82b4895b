import { CfnOutput } from 'aws-cdk-lib';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { BridgeFunction } from './bridge-function.js';

export interface IngestApiProps {
  /** The bridge secret (webhook secrets and Datadog keys). */
  readonly secret: ISecret;
  /** Rules as JSON (validated at synth). */
  readonly rulesJson: string;
  /** Sources configured in the rules; one URL output each. */
  readonly sources: readonly string[];
  /** Datadog site. @default datadoghq.com */
  readonly datadogSite?: string;
}

/** HTTP API `POST /webhooks/{source}` in front of the ingest function. */
export class IngestApi extends Construct {
  readonly api: HttpApi;
  readonly handler: BridgeFunction;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    this.handler = new BridgeFunction(this, 'Ingest', {
      entry: fileURLToPath(new URL('../lambda/ingest/index.ts', import.meta.url)),
      environment: {
        CASE_BRIDGE_SECRET_ID: props.secret.secretArn,
        DD_SITE: props.datadogSite ?? 'datadoghq.com',
      },
      define: { __CASE_BRIDGE_RULES__: props.rulesJson },
    });
    props.secret.grantRead(this.handler);
    this.api = new HttpApi(this, 'Api', { description: 'case-bridge webhooks' });
    this.api.addRoutes({
      path: '/webhooks/{source}',
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('IngestIntegration', this.handler),
    });
    const base = `${this.api.apiEndpoint}/webhooks`;
    new CfnOutput(this, 'WebhookBaseUrl', { value: base, description: 'POST /webhooks/{source}' });
    for (const source of props.sources) {
      new CfnOutput(this, `Url${source.replace(/[^A-Za-z0-9]/g, '')}`, { value: `${base}/${source}`, description: `Webhook URL for ${source}` });
    }
  }
}
