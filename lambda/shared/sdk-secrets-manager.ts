// The part of @aws-sdk/client-secrets-manager the functions use, for their dynamic imports (lambda/shared/sdk-s3.ts says why).
export { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
